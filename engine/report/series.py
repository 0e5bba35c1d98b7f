"""Time series a report draws, derived from a stored run's equity marks.

Bars are counted, not calendar days: a year is the strategy's `periods_per_year` bars, as in
engine.analytics.metrics, so rolling figures and the metrics table annualize the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analytics.annualization import quarter_of_bars
from engine.analytics.returns import bar_returns


def drawdown(equity: pd.Series, initial_cash: float) -> pd.Series:
    """Fraction below the running peak (the initial cash counts as the first peak)."""
    peak = np.maximum.accumulate(np.concatenate([[initial_cash], equity.to_numpy()]))[1:]
    return equity / peak - 1.0


def rolling_sharpe_and_volatility(equity: pd.Series, initial_cash: float, periods_per_year: float) -> pd.DataFrame:
    """Annualized Sharpe (risk-free rate 0) and volatility over the trailing `quarter_of_bars` bars."""
    window = quarter_of_bars(periods_per_year)
    returns = pd.Series(bar_returns(equity.to_numpy(), initial_cash), index=equity.index).rolling(window)
    volatility = returns.std() * np.sqrt(periods_per_year)
    return pd.DataFrame({"sharpe": returns.mean() * periods_per_year / volatility, "volatility": volatility})


def rolling_rank_ic(ics: pd.DataFrame, window: int) -> dict[str, pd.Series]:
    """What the rolling RankIC chart draws from a run's signal_quality.parquet: across symbols, the
    mean of the per-bar RankIC over the trailing `window` bars (half of them measured at least); in
    time series, each symbol's RankIC per window, at the window's last bar."""
    if ics["symbol"].isna().all():
        per_bar = ics.set_index("timestamp")["rank_ic"]
        return {f"RankIC, mean of {window} bars": per_bar.rolling(window, min_periods=window // 2).mean()}
    return {symbol: group.set_index("timestamp")["rank_ic"] for symbol, group in ics.groupby("symbol", sort=False)}


def monthly_returns(equity: pd.Series, initial_cash: float) -> pd.DataFrame:
    """Calendar-month returns as a year × month table (NaN where the run has no bars)."""
    month_end = equity.groupby([equity.index.year, equity.index.month]).last()
    previous = np.concatenate([[initial_cash], month_end.to_numpy()[:-1]])
    returns = pd.Series(month_end.to_numpy() / previous - 1.0, index=month_end.index)
    table = returns.unstack()
    return table.reindex(columns=range(1, 13))


def yearly_returns(equity: pd.Series, initial_cash: float) -> pd.DataFrame:
    """Calendar-year returns (from the previous year's last close, or the initial cash) and bars per year."""
    years = equity.groupby(equity.index.year)
    year_end = years.last()
    previous = np.concatenate([[initial_cash], year_end.to_numpy()[:-1]])
    return pd.DataFrame({"return": year_end.to_numpy() / previous - 1.0, "bars": years.size().to_numpy()}, index=year_end.index)
