"""The embedded sample data: real index history that `arch` ships, a seeded synthetic universe, and
seeded synthetic news about it with a planted edge (engine.news.synthetic).

No network and no keys: all come from installed packages and fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from arch.univariate import GARCH, Normal, ZeroMean

from engine.data.store import DataStore, StoredSeries, bar_length
from engine.news.store import NewsStore
from engine.news.synthetic import SOURCE, synthetic_news

REAL_SERIES = {
    # symbol: (arch.data module, description)
    "SP500": ("sp500", "real: S&P 500 index daily OHLCV 1999-2018, shipped by the arch package"),
    "NASDAQ": ("nasdaq", "real: NASDAQ Composite daily OHLCV 1999-2018, shipped by the arch package"),
}
SYNTHETIC_SEED = 20240101
SYNTHETIC_SYMBOLS = tuple(f"SYN{i:02d}" for i in range(24))
SYNTHETIC_TIMEFRAME = "1h"
SYNTHETIC_DAYS = pd.bdate_range("2021-01-04", "2022-12-30")
# Hourly bars at 14:30 ... 20:30 UTC: seven bars a weekday, the US cash session without DST shifts.
SYNTHETIC_HOURS = [pd.Timedelta(hours=14, minutes=30) + pd.Timedelta(hours=h) for h in range(7)]
SYNTHETIC_ORIGIN = (
    f"synthetic: seeded GARCH(1,1) universe (seed {SYNTHETIC_SEED}), one market factor, "
    "weekday 14:30-20:30 UTC hourly bars; not market data"
)


def real_frame(module_name: str) -> pd.DataFrame:
    import importlib

    raw = importlib.import_module(f"arch.data.{module_name}").load()
    frame = raw.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]].astype(np.float64)
    frame.insert(0, "timestamp", pd.DatetimeIndex(raw.index).tz_localize("UTC").as_unit("ns"))
    return frame.reset_index(drop=True)


def _garch_returns(rng: np.random.Generator, nobs: int, daily_vol_pct: float, persistence: float) -> np.ndarray:
    """Hourly log returns (decimal) with GARCH(1,1) volatility clustering, simulated by `arch`."""
    hourly_var = (daily_vol_pct**2) / len(SYNTHETIC_HOURS)
    alpha = 0.08
    beta = persistence - alpha
    omega = hourly_var * (1 - persistence)
    model = ZeroMean(volatility=GARCH(p=1, q=1), distribution=Normal(seed=rng))
    simulated = model.simulate([omega, alpha, beta], nobs, burn=500)
    return simulated["data"].to_numpy() / 100.0


def synthetic_frames(seed: int = SYNTHETIC_SEED) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    timestamps = (
        pd.DatetimeIndex([day + hour for day in SYNTHETIC_DAYS for hour in SYNTHETIC_HOURS]).tz_localize("UTC").as_unit("ns")
    )
    nobs = len(timestamps)
    market = _garch_returns(rng, nobs, daily_vol_pct=1.0, persistence=0.97)
    frames = {}
    for symbol in SYNTHETIC_SYMBOLS:
        beta = rng.uniform(0.5, 1.5)
        idio = _garch_returns(rng, nobs, daily_vol_pct=rng.uniform(0.8, 2.0), persistence=rng.uniform(0.9, 0.98))
        drift = rng.uniform(-0.05, 0.15) / (252 * len(SYNTHETIC_HOURS))
        log_returns = drift + beta * market + idio
        bar_vol = np.abs(log_returns).mean()
        gap = rng.normal(0.0, 0.2 * bar_vol, nobs)
        close = rng.uniform(20, 400) * np.exp(np.cumsum(log_returns))
        previous_close = np.concatenate([[close[0] * np.exp(-log_returns[0])], close[:-1]])
        open_ = previous_close * np.exp(gap)
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.5 * bar_vol, nobs)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.5 * bar_vol, nobs)))
        volume = np.round(rng.uniform(2e5, 2e6) * np.exp(rng.normal(0, 0.3, nobs) + np.abs(log_returns) / bar_vol * 0.3))
        frames[symbol] = pd.DataFrame(
            {"timestamp": timestamps, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
        )
    return frames


def sample_present(store: DataStore, news: NewsStore | None = None) -> bool:
    """Whether the sample's bars (and, given a news store, its synthetic news) are stored."""
    bars = all(store.has(symbol, "1d") for symbol in REAL_SERIES) and all(
        store.has(symbol, SYNTHETIC_TIMEFRAME) for symbol in SYNTHETIC_SYMBOLS
    )
    return bars and (news is None or bool((news.read()["source"] == SOURCE).any()))


def write_sample(store: DataStore, news: NewsStore | None = None) -> tuple[list[StoredSeries], int]:
    """The sample's series, and with a news store the synthetic news too; returns the series written
    and how many articles."""
    written = []
    for symbol, (module_name, origin) in REAL_SERIES.items():
        written.append(store.write(real_frame(module_name), symbol, "1d", origin=origin, source=f"arch.data.{module_name}"))
    frames = synthetic_frames()
    for symbol, frame in frames.items():
        written.append(store.write(frame, symbol, SYNTHETIC_TIMEFRAME, origin=SYNTHETIC_ORIGIN, source=f"synthetic {symbol}"))
    if news is None:
        return written, 0
    articles = synthetic_news(frames, bar_length(SYNTHETIC_TIMEFRAME))
    news.add(articles, "the sample's synthetic news")
    return written, len(articles)
