"""The vectorized backtester: the whole order history through one compiled loop.

`_simulate_nb` runs every bar's orders through `execute_bar_nb`, the kernel the event-driven
broker runs too, and returns vectorbt's order records. (`Portfolio.from_orders` cannot shrink
competing buys in proportion: it lets the last in its call sequence shrink.)

The simulation takes the whole history in one call and cannot resume from a carried position, so
this broker collects the order batches of every chunk and simulates once the feed ends. The orders
it sees are the same, bar for bar, whatever the chunk size; so are its fills. It suits backtests,
not live feeds, which never end.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from vectorbt.portfolio.enums import OrderSide, order_dt

from engine.execution.conventions import (
    ExecutionRules,
    OrderTerms,
    execute_bar_nb,
    execute_shares_bar_nb,
    size_at_close_nb,
)
from engine.kernel.bars import Bars
from engine.kernel.bus import EventBus
from engine.kernel.events import EndOfData, Fills, OrderBatch
from engine.kernel.risk import RiskGate
from engine.kernel.topics import END, FILLS, ORDERS


def simulate(bars: Bars, order_weights: np.ndarray, rules: ExecutionRules) -> np.ndarray:
    """vectorbt order records of each bar's orders filled at the next bar's open under `rules`."""
    if rules.sizes_at_close:
        return _simulate_sized_at_close_nb(order_weights, bars.open, bars.close, rules.initial_cash, rules.terms)
    return _simulate_nb(order_weights, bars.open, rules.initial_cash, rules.terms)


@njit(cache=True)
def _simulate_nb(order_weights: np.ndarray, opens: np.ndarray, initial_cash: float, terms: OrderTerms) -> np.ndarray:
    """vectorbt order records of every bar's orders (`order_weights`: target weights decided at each close,
    NaN for none) filled at the next bar's open. Row i fills bar i - 1's orders: no shifted copy of the panel."""
    cash = free_cash = initial_cash
    position = np.zeros(order_weights.shape[1])
    debt = np.zeros(order_weights.shape[1])
    records = np.empty(_order_count_nb(order_weights[:-1]), dtype=order_dt)
    n_records = 0
    for i in range(1, order_weights.shape[0]):
        if not np.isnan(order_weights[i - 1]).all():  # as the broker, which executes only bars with orders
            cash, free_cash, n_records = execute_bar_nb(
                i, order_weights[i - 1], opens[i], cash, free_cash, position, debt, terms, records, n_records
            )
    return records[:n_records]


@njit(cache=True)
def _order_count_nb(order_weights: np.ndarray) -> int:
    """How many orders (weights that are not NaN) there are: at most one record each."""
    count = 0
    for weight in order_weights.flat:
        count += not np.isnan(weight)
    return count


@njit(cache=True)
def _simulate_sized_at_close_nb(
    order_weights: np.ndarray, opens: np.ndarray, closes: np.ndarray, initial_cash: float, terms: OrderTerms
) -> np.ndarray:
    """`_simulate_nb` with each bar's target weights (`order_weights`, unshifted) turned into shares at that
    bar's close, which trade at the next bar's open."""
    cash = free_cash = initial_cash
    position = np.zeros(order_weights.shape[1])
    debt = np.zeros(order_weights.shape[1])
    records = np.empty(_order_count_nb(order_weights), dtype=order_dt)
    n_records = 0
    shares = np.full(order_weights.shape[1], np.nan)
    for i in range(order_weights.shape[0]):
        if not np.isnan(shares).all():
            cash, free_cash, n_records = execute_shares_bar_nb(
                i, shares, opens[i], cash, free_cash, position, debt, terms, records, n_records
            )
            shares[:] = np.nan
        if not np.isnan(order_weights[i]).all():
            shares = size_at_close_nb(order_weights[i], closes[i], cash, free_cash, position, debt, terms)
    return records[:n_records]


class VectorizedBroker:
    """Collects the orders of every chunk, simulates the whole history in one call when the feed
    ends, and then publishes every fill; the ledger books each at its bar."""

    name = "vectorized"
    gated = False  # it simulates once the feed ends: no stop between bars to ask the risk gate

    def __init__(self, rules: ExecutionRules) -> None:
        self.rules = rules
        self._bus: EventBus | None = None
        self._batches: list[OrderBatch] = []

    def attach(self, bus: EventBus, symbols: tuple[str, ...], gate: RiskGate) -> None:
        if gate.watches_bars:
            raise ValueError("the vectorized broker cannot ask the risk gate at each close: run it through sim")
        self._bus = bus
        bus.subscribe(ORDERS, self._batches.append)
        bus.subscribe(END, self.on_end)

    def on_end(self, event: EndOfData) -> None:
        if not self._batches:
            return
        bars = Bars.concat([batch.bars for batch in self._batches])
        order_weights = _joined([batch.target_weights for batch in self._batches])
        records = simulate(bars, order_weights, self.rules)
        self._bus.publish(FILLS, fills_of(bars, order_weights, records, self._batches[0].strategy))


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts one after another; one part (a backtest in one chunk) as it is, not a copy."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def fills_of(bars: Bars, order_weights: np.ndarray, records: np.ndarray, strategy: str) -> Fills:
    """vectorbt's order records (in execution order: bar by bar, sells before buys) as fills."""
    bar, column = records["idx"].astype(np.int64), records["col"].astype(np.int64)
    side = np.where(records["side"] == OrderSide.Buy, 1, -1)
    return Fills.at_opens(
        bars, bar, column, side, records["size"], records["price"], records["fees"], order_weights[bar - 1, column], strategy
    )
