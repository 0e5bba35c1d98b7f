"""Synthetic markets and strategies for model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.store import DataStore
from engine.strategies.schema import parse_strategy


def planted_frames(n_bars: int = 1600, symbols=("AAA", "BBB"), persistence: float = 0.45, seed: int = 7) -> dict:
    """Daily bars whose returns follow an AR(1) process: tomorrow's return leans, weakly, the way
    today's went. A causal model can find this; nothing else in the data is predictable."""
    rng = np.random.default_rng(seed)
    stamps = pd.bdate_range("2010-01-04", periods=n_bars, tz="UTC").as_unit("ns")
    frames = {}
    for symbol in symbols:
        shocks = rng.normal(0.0, 0.01, n_bars)
        returns = np.empty(n_bars)
        returns[0] = shocks[0]
        for t in range(1, n_bars):
            returns[t] = persistence * returns[t - 1] + shocks[t]
        close = 100 * np.exp(np.cumsum(returns))
        open_ = close * np.exp(-returns * rng.uniform(0.2, 0.8, n_bars))
        frames[symbol] = pd.DataFrame(
            {
                "timestamp": stamps,
                "open": open_,
                "high": np.maximum(open_, close) * (1 + rng.uniform(0, 0.004, n_bars)),
                "low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.004, n_bars)),
                "close": close,
                "volume": rng.uniform(1e5, 2e5, n_bars).round(),
            }
        )
    return frames


def write_planted(store: DataStore, **kwargs) -> None:
    for symbol, frame in planted_frames(**kwargs).items():
        store.write(frame, symbol, "1d", origin="synthetic: planted AR(1) test market", source=f"test {symbol}")


def model_strategy(plugin: str, symbols=("AAA", "BBB"), **hyperparameters):
    return parse_strategy(
        {
            "name": f"planted_{plugin}",
            "data": {"symbols": list(symbols), "timeframe": "1d"},
            "signal": {
                "kind": "model",
                "plugin": plugin,
                "lookback": 10,
                "seed": 3,
                "hyperparameters": {"epochs": 12, "patience": 4, "loss": "weighted_bce", **hyperparameters},
                "labels": {"horizon": 1, "threshold": 0.0},
                "walk_forward": {"train_bars": 700, "predict_bars": 400},
            },
            "overlays": [{"kind": "threshold", "entry": 0.55, "exit": 0.45}],
        },
        "test strategy",
    )
