"""The event-driven sim broker and the vectorbt backtester fill the same orders at the same prices
and mark the same equity, within 1e-8 relative, on the real sample data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.sample import SYNTHETIC_SYMBOLS
from engine.strategies.files import load_strategy
from engine.usecases.backtest import load_bars, simulate_strategy
from tests.test_chunk_invariance import strategy_for

VARIANTS = {
    "default": {},
    "whole shares": {"execution": {"fractional_shares": False}},
    "high costs": {"costs": {"commission_bps": 50.0, "slippage_bps": 25.0}},
    "minimum commission": {"costs": {"min_commission": 80.0}},
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ["buy_and_hold", "sma_cross"])
def test_replay_matches_vectorized_on_real_data(store, name, variant):
    strategy = load_strategy(name).with_overrides(**VARIANTS[variant])
    bars = load_bars(strategy, store)
    vectorized = simulate_strategy(strategy, bars, None, "vectorized").execution
    replay = simulate_strategy(strategy, bars, 1, "sim").execution
    assert len(vectorized.fills) == len(replay.fills) > 0
    pd.testing.assert_frame_equal(replay.fills, vectorized.fills, check_exact=False, rtol=1e-8, atol=0.0)
    np.testing.assert_allclose(replay.equity, vectorized.equity, rtol=1e-8, atol=0.0)
    np.testing.assert_allclose(replay.gross_equity, vectorized.gross_equity, rtol=1e-8, atol=0.0)


def test_replay_matches_vectorized_with_every_rule_overlay(store):
    strategy = strategy_for("sma_cross", "overlays")
    bars = load_bars(strategy, store)
    vectorized = simulate_strategy(strategy, bars, None, "vectorized").execution
    replay = simulate_strategy(strategy, bars, 1, "sim").execution
    assert len(vectorized.fills) > 50
    pd.testing.assert_frame_equal(replay.fills, vectorized.fills, check_exact=False, rtol=1e-8, atol=0.0)
    np.testing.assert_allclose(replay.equity, vectorized.equity, rtol=1e-8, atol=0.0)


def test_replay_matches_vectorized_on_the_synthetic_universe(store):
    strategy = load_strategy("sma_cross").with_overrides(
        data={"symbols": list(SYNTHETIC_SYMBOLS), "timeframe": "1h"}, signal={"fast": 10, "slow": 40}
    )
    bars = load_bars(strategy, store)
    vectorized = simulate_strategy(strategy, bars, None, "vectorized").execution
    replay = simulate_strategy(strategy, bars, 7, "sim").execution
    assert len(vectorized.fills) > 1000  # many symbols trading against one shared cash account
    pd.testing.assert_frame_equal(replay.fills, vectorized.fills, check_exact=False, rtol=1e-8, atol=0.0)
    np.testing.assert_allclose(replay.equity, vectorized.equity, rtol=1e-8, atol=0.0)


@pytest.mark.parametrize("mode", ["vectorized", "sim"])
def test_the_order_symbols_are_listed_in_does_not_change_results(store, mode):
    runs = []
    for symbols in (["SP500", "NASDAQ"], ["NASDAQ", "SP500"]):
        strategy = load_strategy("sma_cross").with_overrides(data={"symbols": symbols})
        runs.append(simulate_strategy(strategy, load_bars(strategy, store), None, mode).execution)
    first, second = runs
    buys_per_bar = first.fills[first.fills.side == "buy"].groupby("timestamp").size()
    assert buys_per_bar.max() == 2  # both symbols enter on one bar, where cash is short
    np.testing.assert_allclose(second.equity, first.equity, rtol=1e-12, atol=0.0)

    def per_symbol(fills):
        return fills.sort_values(["timestamp", "symbol"], ignore_index=True)

    pd.testing.assert_frame_equal(per_symbol(second.fills), per_symbol(first.fills), check_exact=False, rtol=1e-12, atol=0.0)
