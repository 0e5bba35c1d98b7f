"""DESIGN §2: the same decisions, fills and equity at chunk sizes 1, 7 and the whole history,
for every built-in strategy on the real sample data (and sma_cross on the synthetic universe, where
topk_momentum trades)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.sample import SYNTHETIC_SYMBOLS
from engine.strategies.files import list_strategies, load_strategy
from engine.strategies.schema import parse_strategy
from engine.usecases.backtest import load_bars, simulate_strategy

BUILT_IN = ["buy_and_hold", "sma_cross", "topk_momentum"]
CASES = [(name, None) for name in BUILT_IN] + [("sma_cross", "synthetic"), ("sma_cross", "overlays")]
# Every rule-based overlay, path-dependent ones included, behind sma_cross on the real data.
RULE_CHAIN = [
    {"kind": "trend", "window": 100, "scale": 0.5},
    {"kind": "volatility_regime", "window": 20, "lookback": 252, "garch": True, "refit_every": 126, "scale": 0.5},
    {"kind": "market_filter", "symbol": "SP500", "window": 150, "scale": 0.5},
    {"kind": "holding", "min_holding_bars": 5, "cooldown_bars": 3},
    {"kind": "stops", "stop_loss": 0.05, "take_profit": 0.2, "trailing_stop": 0.08, "cooldown_bars": 5},
    {"kind": "volatility_target", "target": 0.12, "window": 20},
    {"kind": "exposure_caps", "per_symbol": 0.4, "gross": 0.8},
    {"kind": "drawdown_breaker", "max_drawdown": 0.1, "cooldown_bars": 15},
    {"kind": "cost_filter", "band": 0.05},
]


def test_every_builtin_strategy_is_covered():
    assert set(BUILT_IN) <= set(list_strategies())


def strategy_for(name, universe):
    strategy = load_strategy(name)
    if universe == "synthetic":
        strategy = strategy.with_overrides(data={"symbols": list(SYNTHETIC_SYMBOLS), "timeframe": "1h"})
    if universe == "overlays":
        strategy = parse_strategy({**strategy.model_dump(), "overlays": RULE_CHAIN}, "sma_cross with every overlay")
    return strategy


@pytest.mark.parametrize("mode", ["sim", "vectorized"])
@pytest.mark.parametrize(("name", "universe"), CASES)
def test_chunk_sizes_give_identical_targets_fills_and_equity(store, name, universe, mode):
    strategy = strategy_for(name, universe)
    bars = load_bars(strategy, store)
    whole = simulate_strategy(strategy, bars, None, mode)
    assert len(whole.execution.fills) > 0
    for chunk in (1, 7):
        chunked = simulate_strategy(strategy, bars, chunk, mode)
        for topic, weights in whole.stage_outputs.items():
            np.testing.assert_array_equal(chunked.stage_outputs[topic], weights, err_msg=f"{topic} at chunk {chunk}")
        pd.testing.assert_frame_equal(chunked.execution.fills, whole.execution.fills, check_exact=False, rtol=1e-9, atol=0.0)
        np.testing.assert_allclose(chunked.execution.equity, whole.execution.equity, rtol=1e-9, atol=0.0)
        np.testing.assert_allclose(chunked.execution.cash, whole.execution.cash, rtol=1e-9, atol=1e-6)
