"""Drawdown periods: each spell of equity below a previous peak, from the peak to the recovery.

A spell's length is counted as engine.analytics.metrics counts `max_drawdown_duration_bars` (the bars under
water) and, in calendar days, from the peak's close to the recovering close (or to the last bar, if
the equity has not recovered). The initial cash is the first peak, at the first bar's time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WORST = 5  # drawdowns in the report's table


def drawdown_periods(equity: pd.Series, initial_cash: float) -> pd.DataFrame:
    """One row per spell, in time order: peak, valley, recovery (NaT while under water), depth, bars, days."""
    values = np.concatenate([[initial_cash], equity.to_numpy(dtype=np.float64)])
    times = equity.index[np.maximum(np.arange(len(values)) - 1, 0)]
    peaks = np.maximum.accumulate(values)
    below = values < peaks
    starts = np.flatnonzero(below & ~np.r_[False, below[:-1]])
    ends = np.flatnonzero(below & ~np.r_[below[1:], False]) + 1  # the recovering bar, or one past the last
    under = np.flatnonzero(below)
    spell = np.searchsorted(starts, under, side="right") - 1
    depth = values / peaks - 1.0
    deepest_first = np.lexsort((depth[under], spell))  # spells in order, each from its deepest bar
    valleys = under[deepest_first[np.searchsorted(spell[deepest_first], np.arange(len(starts)))]]
    recovered = ends < len(values)
    last = np.minimum(ends, len(values) - 1)
    return pd.DataFrame(
        {
            "peak": times[starts - 1],
            "valley": times[valleys],
            "recovery": times[last].where(recovered, pd.NaT),
            "depth": depth[valleys],
            "bars": ends - starts,
            "days": (times[last] - times[starts - 1]) / pd.Timedelta(days=1),
        }
    )


def worst_drawdowns(periods: pd.DataFrame, count: int = WORST) -> pd.DataFrame:
    return periods.sort_values("depth", kind="stable").head(count)


def longest_drawdown_days(periods: pd.DataFrame) -> float | None:
    """Calendar days of the spell with the most bars under water (the first, if several)."""
    return None if periods.empty else float(periods["days"].iloc[int(periods["bars"].to_numpy().argmax())])
