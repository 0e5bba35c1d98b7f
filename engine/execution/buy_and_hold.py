"""Buy-and-hold in closed form: the books the pipeline would keep for it, without running one.

Buy-and-hold targets equal weights on every bar, so the order router orders once, at the first
traded bar's close, and never again: one bar of orders, filled at the next open through the same
kernels as every backtest (`engine.execution.vectorized.simulate`, under the strategy's costs,
sizing, share rounding and cash). After that the positions stand still and cash does not move, so
each close's equity is that cash plus the held shares at that close, marked as the ledger marks them.
"""

from __future__ import annotations

import numpy as np

from engine.execution.conventions import ExecutionRules
from engine.execution.result import ExecutionResult, marked_equity
from engine.execution.vectorized import fills_of, simulate
from engine.kernel.bars import Bars


def buy_and_hold(bars: Bars, trade_from: int, rules: ExecutionRules, strategy: str) -> ExecutionResult:
    """The books of buy-and-hold (orders named for `strategy`) over `bars` from bar `trade_from` on, as
    `engine.kernel.node.simulate` returns them for the buy_and_hold signal with no overlays or limits."""
    traded = bars.slice(trade_from, len(bars))
    order_weights = np.full((min(len(traded), 2), len(bars.symbols)), np.nan)
    order_weights[0] = 1.0 / len(bars.symbols)  # what the buy_and_hold signal targets
    entry = traded.slice(0, len(order_weights))
    fills = fills_of(entry, order_weights, simulate(entry, order_weights, rules), strategy)
    held = np.zeros(len(bars.symbols))
    np.add.at(held, fills.column, fills.side * fills.size)
    cash = np.full(len(traded), rules.initial_cash)
    cash[1:] += np.cumsum(fills.cash_flow)[-1] if len(fills) else 0.0  # in fill order, as the ledger books them
    positions = np.empty(traded.shape)
    positions[0] = 0.0
    positions[1:] = held
    return ExecutionResult(
        bars=traded,
        equity=marked_equity(cash, positions, traded.close),
        cash=cash,
        positions=positions,
        executed=fills,
        fill_bars=np.ones(len(fills), dtype=np.int64),  # every fill at the open after the first traded close
        initial_cash=rules.initial_cash,
    )
