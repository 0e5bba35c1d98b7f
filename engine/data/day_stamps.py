"""Where a daily or weekly bar is stamped. The store stamps it at midnight UTC of its date (what an
imported file's dates read as); Alpaca at midnight New York of that date (04:00 or 05:00 UTC, with
daylight saving). `engine sandbox` serves Alpaca's stamps, and a fetch stores Alpaca's bars at the
store's, so a fetched series and an imported one line up day by day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.kernel.bars import EXCHANGE_ZONE


def stamped_by_day(timeframe: str) -> bool:
    """Whether `timeframe` (the store's name: 1d, 1w, 1h, ...) is stamped by its day."""
    return timeframe[-1] in "dw"


def alpaca_stamps(times: pd.DatetimeIndex, timeframe: str) -> pd.DatetimeIndex:
    """The store's UTC times as Alpaca stamps the bars: a day's at midnight New York of its date."""
    if not stamped_by_day(timeframe):
        return times
    return times.tz_convert(None).tz_localize(EXCHANGE_ZONE).tz_convert("UTC")


def store_stamps(times: pd.DatetimeIndex, timeframe: str) -> pd.DatetimeIndex:
    """Alpaca's UTC times as the store stamps `timeframe`'s bars: a day's bar (or the moment in it)
    at midnight UTC of its date in New York."""
    if not stamped_by_day(timeframe):
        return times
    return times.tz_convert(EXCHANGE_ZONE).tz_localize(None).normalize().tz_localize("UTC")


def first_off_day(times: pd.DatetimeIndex, timeframe: str) -> int | None:
    """The position of the first of Alpaca's times of `timeframe`'s bars that is not a midnight in
    New York, where a day's bar must be stamped; None when all are (or the bars are not by day)."""
    if not stamped_by_day(timeframe):
        return None
    local = times.tz_convert(EXCHANGE_ZONE)
    off = np.flatnonzero(local != local.normalize())
    return int(off[0]) if len(off) else None
