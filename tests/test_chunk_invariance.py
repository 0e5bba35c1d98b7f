"""DESIGN §2: the same decisions, fills and equity at chunk sizes 1, 7 and the whole history,
for every built-in strategy on the real sample data (and sma_cross on the synthetic universe)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest import load_bars, simulate_strategy
from engine.data.sample import SYNTHETIC_SYMBOLS
from engine.strategy import list_strategies, load_strategy

BUILT_IN = ["buy_and_hold", "sma_cross"]
CASES = [(name, None) for name in BUILT_IN] + [("sma_cross", "synthetic")]


def test_every_builtin_strategy_is_covered():
    assert set(BUILT_IN) <= set(list_strategies())


def strategy_for(name, universe):
    strategy = load_strategy(name)
    if universe == "synthetic":
        strategy = strategy.with_overrides(data={"symbols": list(SYNTHETIC_SYMBOLS), "timeframe": "1h"})
    return strategy


@pytest.mark.parametrize("mode", ["replay", "vectorized"])
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
