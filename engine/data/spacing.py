"""Whether bars are as far apart as their declared timeframe says.

The data's typical spacing is a median gap, measured so that market closures do not count:

- several bars a day (at least as many gaps within a UTC day as across days): the median gap
  within a day, so that nights, weekends and holidays between sessions are left out;
- at most one bar a day: the median count of weekdays from one bar to the next, so that a weekend
  between Friday and Monday is one step, like Monday to Tuesday.

A declared timeframe is refused when the typical spacing is more than 1.5 times it, or less than
2/3 of it: hourly bars declared as 1d, daily bars as 1h, weekly bars as 1d.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analytics.formatting import counted
from engine.data.validation import BarValidationError

INTRADAY_UNITS = {"m": pd.Timedelta(minutes=1), "h": pd.Timedelta(hours=1)}
WEEKDAYS_PER_UNIT = {"d": 1, "w": 5}
TOLERANCE = 1.5


def check_spacing(timestamps: pd.Series, timeframe: str, source: str) -> None:
    """Refuse bars whose typical spacing does not match `timeframe` (a valid store timeframe, like 1d)."""
    stamps = timestamps.to_numpy(dtype="datetime64[ns]")
    if len(stamps) < 2:
        return
    count, unit = int(timeframe[:-1]), timeframe[-1]
    days = stamps.astype("datetime64[D]")
    same_day = days[1:] == days[:-1]
    if same_day.sum() >= (~same_day).sum():
        gaps = np.diff(stamps)[same_day].astype(np.int64)
        typical = pd.Timedelta(int(np.median(gaps)), "ns")
        looks_like = f"several bars a day, typically {_duration(typical)} apart (the median gap within a day)"
        declared = count * INTRADAY_UNITS[unit] if unit in INTRADAY_UNITS else None
        ratio = None if declared is None else typical / declared
        suggestion = _intraday_timeframe(typical)
    else:
        weekdays = float(np.median(np.busday_count(days[:-1], days[1:])))
        looks_like = f"at most one bar a day, typically {counted(weekdays, 'weekday')} apart (the median, weekends aside)"
        ratio = weekdays / (count * WEEKDAYS_PER_UNIT[unit]) if unit in WEEKDAYS_PER_UNIT else None
        suggestion = {1.0: "1d", 5.0: "1w"}.get(weekdays)
    if ratio is not None and 1 / TOLERANCE <= ratio <= TOLERANCE:
        return
    advice = f"; import it with --timeframe {suggestion}" if suggestion else ""
    raise BarValidationError(source, None, None, f"the bars do not look like --timeframe {timeframe}: {looks_like}{advice}")


def _duration(delta: pd.Timedelta) -> str:
    minutes = delta / pd.Timedelta(minutes=1)
    return counted(minutes / 60, "hour") if minutes >= 60 and minutes % 60 == 0 else counted(minutes, "minute")


def _intraday_timeframe(delta: pd.Timedelta) -> str | None:
    minutes = delta / pd.Timedelta(minutes=1)
    if minutes < 1 or minutes != int(minutes):
        return None
    return f"{int(minutes) // 60}h" if minutes % 60 == 0 else f"{int(minutes)}m"
