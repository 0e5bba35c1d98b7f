"""Metrics against an independent, plain-Python reference implementation."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from engine.backtest import load_bars, simulate_strategy
from engine.metrics import compute_metrics, drawdown_duration, return_metrics
from engine.strategy_files import load_strategy


def reference_ratios(equity: list[float], initial: float, periods_per_year: float) -> dict[str, float]:
    returns, previous = [], initial
    for value in equity:
        returns.append(value / previous - 1.0)
        previous = value
    mean = sum(returns) / len(returns)
    sharpe = mean / statistics.stdev(returns) * math.sqrt(periods_per_year)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    sortino = mean / downside * math.sqrt(periods_per_year)
    peak, worst = initial, 0.0
    for value in equity:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1.0)
    return {"sharpe": sharpe, "sortino": sortino, "max_drawdown": worst}


@pytest.mark.parametrize("name", ["sma_cross", "buy_and_hold"])
def test_sharpe_sortino_and_drawdown_match_the_reference_on_real_data(store, name):
    strategy = load_strategy(name)
    result = simulate_strategy(strategy, load_bars(strategy, store)).execution
    metrics = compute_metrics(result, 252)
    reference = reference_ratios(result.equity.tolist(), result.initial_cash, 252)
    for key, value in reference.items():
        assert metrics[key] == pytest.approx(value, rel=1e-9), key


def test_hand_made_equity_curve():
    equity = np.array([100.0, 120.0, 90.0, 130.0, 65.0, 70.0])
    metrics = return_metrics(equity, 100.0, periods_per_year=252)
    assert metrics["max_drawdown"] == pytest.approx(-0.5)
    assert metrics["total_return"] == pytest.approx(-0.3)
    assert metrics["max_drawdown_duration_bars"] == 2  # two bars below the 130 peak
    assert drawdown_duration(np.array([1.0, 0.9, 0.8, 1.1, 1.0])) == 2
    years = 6 / 252
    assert metrics["cagr"] == pytest.approx(0.7 ** (1 / years) - 1)
    assert metrics["calmar"] == pytest.approx(metrics["cagr"] / 0.5)


def test_costs_and_trade_statistics_add_up(store):
    strategy = load_strategy("sma_cross")
    result = simulate_strategy(strategy, load_bars(strategy, store)).execution
    metrics = compute_metrics(result, 252)
    assert metrics["costs_paid"] == pytest.approx(result.fills.fees.sum() + result.fills.slippage_cost.sum())
    assert metrics["gross_total_return"] > metrics["net_total_return"]
    gross_minus_net = (metrics["gross_total_return"] - metrics["net_total_return"]) * result.initial_cash
    assert gross_minus_net == pytest.approx(metrics["costs_paid"])
    assert metrics["trades"] == metrics["orders_filled"] / 2  # every round trip closed: one buy, one sell
    assert 0 < metrics["win_rate"] < 1 and metrics["profit_factor"] > 0
    assert 0 < metrics["exposure"] <= 1 and metrics["turnover"] > 0
