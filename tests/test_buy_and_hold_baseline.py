"""The buy-and-hold baseline in closed form against the pipeline it replaced: the same books and the
same metrics, under every cost, sizing and share setting, from the first bar or after a warm-up."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from engine.analytics.metrics import compute_metrics
from engine.data.sample import SYNTHETIC_SYMBOLS, SYNTHETIC_TIMEFRAME
from engine.kernel.node import simulate
from engine.strategies.files import load_strategy
from engine.usecases.backtest import PreparedStrategy, baseline_execution, benchmark_of, loaded
from tests.helpers import make_bars

DAILY = {}
HOURLY = {"data": {"symbols": list(SYNTHETIC_SYMBOLS), "timeframe": SYNTHETIC_TIMEFRAME}}
SETTINGS = {
    "default costs, daily": ("sma_cross", DAILY),
    "no costs": ("sma_cross", {"costs": {"commission_bps": 0.0, "slippage_bps": 0.0}}),
    "minimum commission above the rate": ("sma_cross", {"costs": {"min_commission": 400.0}}),
    "whole shares, little cash": ("sma_cross", {"execution": {"fractional_shares": False, "initial_cash": 3000.0}}),
    "sized at the close": ("sma_cross", {"execution": {"size_at": "close"}}),
    "shorts allowed": ("sma_cross", {"execution": {"allow_short": True}}),
    "hourly universe": ("sma_cross", HOURLY),
    "hourly, sized at the close, whole shares": (
        "sma_cross",
        {**HOURLY, "execution": {"size_at": "close", "fractional_shares": False}},
    ),
    "a model strategy's data, from its start": ("gru93", {}),
    "buy_and_hold itself": ("buy_and_hold", {"costs": {"commission_bps": 25.0}}),
}


def pipeline_baseline(prepared: PreparedStrategy):
    """What the baseline was before the closed form: buy-and-hold run through the pipeline."""
    return simulate(prepared.with_strategy(benchmark_of(prepared.strategy))).execution


def assert_same_books(closed, piped) -> None:
    np.testing.assert_allclose(closed.equity, piped.equity, rtol=1e-12, atol=0)
    np.testing.assert_allclose(closed.cash, piped.cash, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(closed.positions, piped.positions)
    np.testing.assert_array_equal(closed.fill_bars, piped.fill_bars)
    pd.testing.assert_frame_equal(closed.fills, piped.fills)
    assert closed.bars.fingerprint() == piped.bars.fingerprint()


def assert_same_metrics(closed: dict, piped: dict) -> None:
    assert closed.keys() == piped.keys()
    for key, value in piped.items():
        if isinstance(value, float):
            assert closed[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
        else:
            assert closed[key] == value, key


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_the_closed_form_keeps_the_pipelines_books_and_metrics(workspace, setting):
    name, overrides = SETTINGS[setting]
    strategy = load_strategy(name).with_overrides(**overrides)
    prepared = loaded(strategy, workspace)
    closed, piped = baseline_execution(prepared, "buy & hold"), pipeline_baseline(prepared)
    assert len(piped.fills) > 0
    assert_same_books(closed, piped)
    periods = prepared.periods_per_year
    assert_same_metrics(compute_metrics(closed, periods), compute_metrics(piped, periods))


def test_a_start_after_the_first_bar_buys_at_the_open_after_it(workspace):
    strategy = load_strategy("sma_cross").with_overrides(data={"start": "2010-03-01"})
    prepared = loaded(strategy, workspace)
    assert prepared.trade_from > 0
    closed = baseline_execution(prepared, "buy & hold")
    assert str(closed.fills["timestamp"].iloc[0].date()) == "2010-03-02"
    assert_same_books(closed, pipeline_baseline(prepared))


@pytest.mark.parametrize("trade_from", [3, 4])
def test_at_the_last_bars_it_holds_what_the_pipeline_holds(trade_from):
    """Ordered at the second-to-last close it buys at the last open; at the last close it never fills."""
    prices = [[10.0, 20.0], [11.0, 19.0], [12.0, 18.0], [13.0, 17.0], [14.0, 16.0]]
    bars = make_bars(prices, prices, symbols=("A", "B"))
    prepared = replace(PreparedStrategy.over(load_strategy("buy_and_hold"), bars), trade_from=trade_from)
    closed, piped = baseline_execution(prepared, "buy & hold"), pipeline_baseline(prepared)
    assert len(closed.fills) == (2 if trade_from == 3 else 0)
    assert_same_books(closed, piped)
