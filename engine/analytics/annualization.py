"""How many bars make a year, for annualizing returns, volatility and Sharpe.

A strategy may set `execution.periods_per_year`. Otherwise daily bars count 252 a year and weekly
52; intraday bars count 252 trading days times the bars a trading day has in the data (the median
over its days), since sessions differ: US equity hours give 6.5 hourly bars a day by the clock,
but hourly bars stamped on the hour give 7, and 24-hour markets 24.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.strategies.schema import Strategy

TRADING_DAYS = 252
BARS_PER_YEAR_BY_UNIT = {"d": TRADING_DAYS, "w": 52}


@dataclass(frozen=True)
class Annualization:
    periods_per_year: float
    basis: str  # how the figure was chosen, in words

    def describe(self) -> str:
        return f"{self.periods_per_year:g} bars a year ({self.basis})"


def bars_per_trading_day(timestamps: np.ndarray) -> float:
    """The median number of bars on a (UTC) day that has any."""
    days = np.asarray(timestamps, dtype="datetime64[ns]").astype("datetime64[D]")
    _, counts = np.unique(days, return_counts=True)
    return float(np.median(counts))


def annualization(strategy: Strategy, timestamps: np.ndarray) -> Annualization:
    """The strategy's bars per year: as it sets them, or from its timeframe and its data's sessions."""
    if strategy.execution.periods_per_year is not None:
        return Annualization(strategy.execution.periods_per_year, "set by the strategy")
    timeframe = strategy.data.timeframe
    count, unit = int(timeframe[:-1]), timeframe[-1]
    if unit in BARS_PER_YEAR_BY_UNIT:
        per_year = BARS_PER_YEAR_BY_UNIT[unit] / count
        return Annualization(per_year, f"{timeframe} bars")
    per_day = bars_per_trading_day(timestamps)
    return Annualization(per_day * TRADING_DAYS, f"{per_day:g} {timeframe} bars a trading day in the data × {TRADING_DAYS}")


def quarter_of_bars(periods_per_year: float) -> int:
    """A quarter of a year of bars: the window of rolling figures (at least 2 bars)."""
    return max(2, round(periods_per_year / 4))
