"""The vectorized backtester: the whole order history through vectorbt in one call.

`Portfolio.from_orders` does the work. A minimum commission cannot be expressed there (fees are
rate x notional + a fixed amount), so with one the same orders go through `from_order_func`,
whose order function sets each order's fee terms as the broker does (`commission_terms_nb`).

vectorbt simulates a history in one call and cannot resume from a carried position, so this broker
collects the order batches of every chunk and simulates once the feed ends. The orders it sees are
the same, bar for bar, whatever the chunk size; so are its fills. It suits backtests, not live
feeds, which never end.
"""

from __future__ import annotations

import numpy as np
import vectorbt as vbt
from numba import njit
from vectorbt.portfolio import nb as vbt_nb
from vectorbt.portfolio.enums import OrderSide, SizeType

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import EndOfData, Fills, OrderBatch, order_id
from engine.execution.conventions import ExecutionRules, commission_terms_nb, fill_bar_orders
from engine.topics import END, FILLS, ORDERS


def simulate(bars: Bars, order_weights: np.ndarray, rules: ExecutionRules) -> vbt.Portfolio:
    """Fill each bar's orders at the next bar's open under `rules`; mark at the close."""
    size = fill_bar_orders(order_weights)
    if rules.min_commission <= 0:
        return vbt.Portfolio.from_orders(
            close=bars.close, size=size, price=bars.open, val_price=bars.open, freq="1D", **rules.vectorbt_order_kwargs()
        )
    opens = np.ascontiguousarray(bars.open)
    return vbt.Portfolio.from_order_func(
        bars.close,
        _order_at_open_nb,
        size,
        opens,
        np.asarray(rules.direction),
        rules.commission,
        rules.slippage,
        rules.min_commission,
        rules.size_granularity,
        pre_segment_func_nb=_value_at_open_nb,
        pre_segment_args=(size, opens, np.asarray(rules.direction), np.empty(size.shape[1])),
        init_cash=rules.initial_cash,
        cash_sharing=True,
        group_by=True,
        freq="1D",
    )


@njit(cache=True)
def _value_at_open_nb(c, size, opens, direction, order_value_out):
    """Before a bar's orders: value the account at the open, then put sells before buys."""
    for column in range(c.from_col, c.to_col):
        c.last_val_price[column] = opens[c.i, column]
    vbt_nb.sort_call_seq_nb(c, size, np.asarray(SizeType.TargetPercent), direction, order_value_out[c.from_col : c.to_col])
    return ()


@njit(cache=True)
def _order_at_open_nb(c, size, opens, direction, commission, slippage, min_commission, granularity):
    weight = size[c.i, c.col]
    if np.isnan(weight):
        return vbt_nb.order_nothing_nb()
    price = opens[c.i, c.col]
    fees, fixed_fees = commission_terms_nb(weight, c.value_now, c.position_now, price, commission, slippage, min_commission)
    return vbt_nb.order_nb(
        size=weight,
        price=price,
        size_type=SizeType.TargetPercent,
        direction=direction.item(),
        fees=fees,
        fixed_fees=fixed_fees,
        slippage=slippage,
        size_granularity=granularity,
    )


class VectorizedBroker:
    """Collects the orders of every chunk, simulates the whole history in one vectorbt call when the
    feed ends, and then publishes every fill; the ledger books each at its bar."""

    name = "vectorized"

    def __init__(self, rules: ExecutionRules) -> None:
        self.rules = rules
        self._bus: EventBus | None = None
        self._batches: list[OrderBatch] = []

    def attach(self, bus: EventBus, symbols: tuple[str, ...]) -> None:
        self._bus = bus
        bus.subscribe(ORDERS, self._batches.append)
        bus.subscribe(END, self.on_end)

    def on_end(self, event: EndOfData) -> None:
        if not self._batches:
            return
        bars = Bars.concat([batch.bars for batch in self._batches])
        order_weights = np.concatenate([batch.target_weights for batch in self._batches])
        portfolio = simulate(bars, order_weights, self.rules)
        self._bus.publish(FILLS, fills_of(bars, order_weights, portfolio.order_records, self._batches[0].strategy))


def fills_of(bars: Bars, order_weights: np.ndarray, records: np.ndarray, strategy: str) -> Fills:
    """vectorbt's order records (in execution order: bar by bar, sells before buys) as fills."""
    bar, column = records["idx"].astype(np.int64), records["col"].astype(np.int64)
    decided_at = bars.timestamps[bar - 1]
    return Fills(
        tuple(order_id(strategy, when, bars.symbols[col]) for when, col in zip(decided_at, column, strict=True)),
        timestamp=bars.timestamps[bar],
        decided_at=decided_at,
        column=column,
        side=np.where(records["side"] == OrderSide.Buy, 1, -1),
        size=records["size"],
        price=records["price"],
        fees=records["fees"],
        slippage_cost=records["size"] * np.abs(records["price"] - bars.open[bar, column]),
        target_weight=order_weights[bar - 1, column],
    )
