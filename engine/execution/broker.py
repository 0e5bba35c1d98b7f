"""The event-driven sim broker: orders in, order updates, fills and account snapshots out, on the bus.

It sees market data before the strategy does (it attaches to the bus before the stages), passes
the orders decided at one bar's close through the risk gate with its account at that close, holds
them in its account's book until the next bar's open, and executes them there under the rules of
`engine.execution.conventions`. Its account is a `SimAccount` (engine.execution.account), the one
`engine sandbox` keeps too, and each bar runs through `execute_bar_nb`, the kernel the vectorized
backtest runs, so all fill alike. After each chunk it publishes its account, which the ledger checks.
A halt cancels the orders waiting for the next open, as an Alpaca session's does.
"""

from __future__ import annotations

import threading

import numpy as np

from engine.execution.account import BarOrders, SimAccount
from engine.execution.conventions import ExecutionRules
from engine.kernel.bars import Bars
from engine.kernel.bus import EventBus
from engine.kernel.events import AccountSnapshot, BarChunk, Fills, OrderBatch, OrderUpdate, order_id
from engine.kernel.risk import RiskEvent, RiskGate
from engine.kernel.topics import ACCOUNT, BARS, FILLS, ORDER_UPDATES, ORDERS, RISK


class SimBroker:
    name = "sim"

    def __init__(self, rules: ExecutionRules) -> None:
        self.rules = rules
        self.account: SimAccount | None = None  # once attached to its symbols
        self._bus: EventBus | None = None
        self._symbols: tuple[str, ...] = ()
        self._chunk: Bars | None = None

    def attach(self, bus: EventBus, symbols: tuple[str, ...], gate: RiskGate) -> None:
        self._bus, self._symbols, self._gate = bus, symbols, gate
        self.account = SimAccount(self.rules, symbols)
        self._busy = threading.RLock()  # a halt by hand comes from another thread; a tripped limit from within a bar
        bus.subscribe(BARS, self.on_bars)
        bus.subscribe(ORDERS, self.on_orders)
        bus.subscribe(RISK, self.on_risk)

    def on_bars(self, event: BarChunk) -> None:
        self._chunk = event.bars

    def on_risk(self, event: RiskEvent) -> None:
        """A halt cancels the orders waiting for the next open, as an Alpaca session's halt cancels its
        open orders (a limit that trips at a close finds none: that bar's orders were filled at its open)."""
        if event.action != "halted":
            return
        with self._busy:
            for orders in self.account.cancel_all():
                orders.is_open = False
                for column in np.flatnonzero(~np.isnan(orders.weights)):
                    symbol = self._symbols[column]
                    oid = order_id(orders.strategy, orders.decided_at, symbol)
                    self._bus.publish(ORDER_UPDATES, OrderUpdate(oid, symbol, "cancelled", event.timestamp, reason=event.reason))

    def on_orders(self, event: OrderBatch) -> None:
        with self._busy:
            self._on_orders(event)

    def _on_orders(self, event: OrderBatch) -> None:
        bars = self._chunk
        if bars is None or bars.timestamps[0] != event.bars.timestamps[0]:
            raise RuntimeError("orders arrived for bars the broker has not seen")
        fills: list[tuple] = []
        account = self.account
        for row in range(len(bars)):
            fills.extend(self._execute(bars, row))
            weights = event.target_weights[row]
            if self._gate.watches_bars or self._gate.halted:
                weights = self._gate.at_close(bars.timestamps[row], weights, bars.close[row], account.cash, account.position)
            if np.isnan(weights).all():
                continue
            account.place(BarOrders(weights, self._sized(weights, bars.close[row]), bars.timestamps[row], event.strategy))
            for order in event.orders(row):
                self._bus.publish(ORDER_UPDATES, OrderUpdate(order.order_id, order.symbol, "accepted", order.decided_at))
        self._bus.publish(FILLS, Fills.from_records(fills))
        self._bus.publish(ACCOUNT, AccountSnapshot(bars.timestamps[-1], float(account.cash), account.holdings()))

    def _sized(self, weights: np.ndarray, closes: np.ndarray) -> np.ndarray | None:
        """The shares the orders trade when the rules size them at the close they were decided on."""
        return self.account.sized_at_close(weights, closes) if self.rules.sizes_at_close else None

    def _execute(self, bars: Bars, row: int) -> list[tuple]:
        """Execute the orders decided at the last close at bar `row`'s open: one (order id, timestamp,
        decided at, column, side, size, price, fees, slippage cost, target weight) per fill. An order that
        filled nothing (already at its target at the open, or no cash to buy with) is cancelled."""
        open_prices, stamp, fills = bars.open[row], bars.timestamps[row], []
        for match in self.account.match(row, open_prices, bars.high[row], bars.low[row]):
            orders, column = match.order, match.column
            symbol = bars.symbols[column]
            oid = order_id(orders.strategy, orders.decided_at, symbol)
            if not match.shares:
                self._bus.publish(ORDER_UPDATES, OrderUpdate(oid, symbol, "cancelled", stamp, reason="nothing filled"))
                continue
            self._bus.publish(ORDER_UPDATES, OrderUpdate(oid, symbol, "filled", stamp, filled_size=match.shares))
            slippage_cost = match.shares * abs(match.price - open_prices[column])
            side = 1 if match.buy else -1
            fills.append(
                (
                    oid,
                    stamp,
                    orders.decided_at,
                    column,
                    side,
                    match.shares,
                    match.price,
                    match.fees,
                    slippage_cost,
                    orders.weights[column],
                )
            )
        return fills
