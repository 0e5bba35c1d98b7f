"""Metrics against an independent, plain-Python reference implementation."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from engine.analytics.metrics import compute_metrics, drawdown_duration, return_metrics
from engine.analytics.relative_metrics import relative_metrics
from engine.analytics.return_distribution import distribution_metrics
from engine.strategies.files import load_strategy
from engine.usecases.backtest import load_bars, simulate_strategy


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


# Hand-made bar returns of a run and of its benchmark: 21 bars, so the 5th percentile falls on the
# second-lowest return and the 95% tail holds the two lowest.
RUN = [0.01, -0.02, 0.015, 0.03, -0.01, 0.0, 0.02, -0.04, 0.005, 0.012, -0.003, 0.025, -0.015, 0.008, 0.0, -0.006, 0.018, -0.022,
       0.004, 0.011, -0.009]  # fmt: skip
BENCHMARK = [0.008, -0.015, 0.01, 0.02, -0.012, 0.003, 0.01, -0.03, 0.002, 0.009, 0.001, 0.015, -0.01, 0.004, -0.002, -0.004,
             0.012, -0.018, 0.006, 0.007, -0.005]  # fmt: skip


def reference_relative(run: list[float], benchmark: list[float], periods_per_year: float) -> dict[str, float]:
    beta = statistics.covariance(run, benchmark) / statistics.variance(benchmark)
    residual = statistics.fmean(r - beta * b for r, b in zip(run, benchmark, strict=True))
    active = [r - b for r, b in zip(run, benchmark, strict=True)]
    return {
        "alpha": (1 + residual) ** periods_per_year - 1,
        "beta": beta,
        "correlation": statistics.correlation(run, benchmark),
        "information_ratio": statistics.fmean(active) / statistics.stdev(active) * math.sqrt(periods_per_year),
    }


def reference_distribution(returns: list[float]) -> dict[str, float]:
    n, mean = len(returns), statistics.fmean(returns)
    m2 = sum((r - mean) ** 2 for r in returns) / n
    m3 = sum((r - mean) ** 3 for r in returns) / n
    lowest = sorted(returns)
    rank = 0.05 * (n - 1)  # the 5th percentile's place among the sorted returns, between two of them
    below, fraction = int(rank), rank - int(rank)
    return {
        "skew": m3 / m2**1.5 * math.sqrt(n * (n - 1)) / (n - 2),
        "value_at_risk": lowest[below] + fraction * (lowest[below + 1] - lowest[below]),
        "conditional_value_at_risk": statistics.fmean(lowest[: below + 1]),
        "worst_bar": lowest[0],
        "best_bar": lowest[-1],
    }


def test_benchmark_relative_metrics_match_the_reference_on_a_hand_made_series():
    metrics = relative_metrics(np.array(RUN), np.array(BENCHMARK), 252)
    for key, value in reference_relative(RUN, BENCHMARK, 252).items():
        assert metrics[key] == pytest.approx(value, rel=1e-12), key
    assert relative_metrics(np.array(BENCHMARK), np.array(BENCHMARK), 252)["beta"] == pytest.approx(1.0)
    assert relative_metrics(np.array(RUN[:1]), np.array(BENCHMARK[:1]), 252) == dict.fromkeys(metrics)
    assert relative_metrics(np.array(RUN), np.zeros(len(RUN)), 252) == dict.fromkeys(metrics)  # a flat benchmark


def test_return_distribution_matches_the_reference_on_a_hand_made_series():
    metrics = distribution_metrics(np.array(RUN))
    for key, value in reference_distribution(RUN).items():
        assert metrics[key] == pytest.approx(value, rel=1e-12), key
    assert metrics["value_at_risk"] == -0.022 and metrics["conditional_value_at_risk"] == pytest.approx(-0.031)
    assert distribution_metrics(np.zeros(5))["skew"] is None
