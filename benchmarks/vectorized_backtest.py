"""Vectorized backtest of sma_cross over the synthetic universe, against raw vectorbt on the same
target weights (the peer gets the weights for free; we compute them, route orders and extract fills)."""

from __future__ import annotations

import numpy as np
import vectorbt as vbt

from benchmarks.common import best_time, synthetic_sma_cross, workspace
from engine.execution.conventions import ExecutionRules, fill_bar_orders, orders_from_targets_nb
from engine.usecases.backtest import load_bars, simulate_strategy

GOAL_RATIO = 1.3


def measure() -> dict:
    strategy = synthetic_sma_cross()
    bars = load_bars(strategy, workspace().data)
    rules = ExecutionRules.from_strategy(strategy)
    ours = best_time(lambda: simulate_strategy(strategy, bars, None, "vectorized"))

    targets = next(iter(simulate_strategy(strategy, bars).stage_outputs.values()))
    size = fill_bar_orders(orders_from_targets_nb(targets, np.full(targets.shape[1], np.nan)))

    def raw_vectorbt():
        portfolio = vbt.Portfolio.from_orders(
            close=bars.close, size=size, price=bars.open, val_price=bars.open, freq="1D", **rules.vectorbt_order_kwargs()
        )
        return portfolio.value()

    peer = best_time(raw_vectorbt)
    symbol_bars = bars.shape[0] * bars.shape[1]
    return {
        "data": f"synthetic universe, {bars.shape[1]} symbols x {bars.shape[0]} hourly bars",
        "symbol_bars": symbol_bars,
        "ours_seconds": ours,
        "ours_bars_per_second": symbol_bars / ours,
        "raw_vectorbt_from_orders_seconds": peer,
        "ratio_ours_over_vectorbt": ours / peer,
        "goal_ratio_at_most": GOAL_RATIO,
        "meets_goal": ours / peer <= GOAL_RATIO,
    }
