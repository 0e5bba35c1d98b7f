"""The event-driven sim broker: orders in, order updates, fills and account snapshots out, on the bus.

It sees market data before the strategy does (it attaches to the bus before the stages), holds
orders decided at one bar's close until the next bar's open, and executes them there with
vectorbt's order kernel under the rules of `engine.execution.conventions`. Its account state
(cash, free cash, positions, short debt) is vectorbt's, so it fills exactly as
`Portfolio.from_orders` does. After each chunk it publishes its account, which the ledger checks.
"""

from __future__ import annotations

import numpy as np
from vectorbt.portfolio import nb as vbt_nb
from vectorbt.portfolio.enums import OrderSide, OrderStatus, OrderStatusInfo, ProcessOrderState

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import AccountSnapshot, BarChunk, Fills, OrderBatch, OrderUpdate, order_id
from engine.execution.conventions import ExecutionRules, execution_sequence
from engine.topics import ACCOUNT, BARS, FILLS, ORDER_UPDATES, ORDERS


class SimBroker:
    name = "sim"

    def __init__(self, rules: ExecutionRules) -> None:
        self.rules = rules
        self.cash = rules.initial_cash
        self.free_cash = rules.initial_cash
        self._bus: EventBus | None = None
        self._symbols: tuple[str, ...] = ()
        self._chunk: Bars | None = None
        self._pending: tuple[np.ndarray, np.datetime64, str] | None = None

    def attach(self, bus: EventBus, symbols: tuple[str, ...]) -> None:
        self._bus, self._symbols = bus, symbols
        self.position = np.zeros(len(symbols))
        self.debt = np.zeros(len(symbols))
        bus.subscribe(BARS, self.on_bars)
        bus.subscribe(ORDERS, self.on_orders)

    def on_bars(self, event: BarChunk) -> None:
        self._chunk = event.bars

    def on_orders(self, event: OrderBatch) -> None:
        bars = self._chunk
        if bars is None or bars.timestamps[0] != event.bars.timestamps[0]:
            raise RuntimeError("orders arrived for bars the broker has not seen")
        fills: list[tuple] = []
        for row in range(len(bars)):
            if self._pending is not None:
                fills.extend(self._execute(bars, row))
            weights = event.target_weights[row]
            placed = not np.isnan(weights).all()
            self._pending = (weights, bars.timestamps[row], event.strategy) if placed else None
            if placed:
                for order in event.orders(row):
                    self._bus.publish(ORDER_UPDATES, OrderUpdate(order.order_id, order.symbol, "accepted", order.decided_at))
        self._bus.publish(FILLS, Fills.from_records(fills))
        positions = {symbol: float(shares) for symbol, shares in zip(self._symbols, self.position, strict=True)}
        self._bus.publish(ACCOUNT, AccountSnapshot(bars.timestamps[-1], float(self.cash), positions))

    def _execute(self, bars: Bars, row: int) -> list[tuple]:
        """Execute the pending orders at bar `row`'s open: one (order id, timestamp, decided at,
        column, side, size, price, fees, slippage cost, target weight) per fill."""
        weights, decided_at, strategy = self._pending
        self._pending = None
        open_prices = bars.open[row]
        value = self.cash
        for column in range(len(open_prices)):
            if self.position[column] != 0:
                value += self.position[column] * open_prices[column]
        fills = []
        sequence = execution_sequence(self.rules, weights, self.position, open_prices, self.cash, self.free_cash, value)
        for column in sequence:
            if np.isnan(weights[column]):
                continue
            state = ProcessOrderState(
                cash=self.cash,
                position=self.position[column],
                debt=self.debt[column],
                free_cash=self.free_cash,
                val_price=open_prices[column],
                value=value,
                oidx=0,
                lidx=0,
            )
            order = self.rules.order(weights[column], open_prices[column], value, self.position[column])
            new_state, result = vbt_nb.execute_order_nb(state, order)
            symbol = bars.symbols[column]
            oid = order_id(strategy, decided_at, symbol)
            if result.status != OrderStatus.Filled:
                # vectorbt ignores an order with nothing to do (size zero) and rejects one it cannot fill
                status = "cancelled" if result.status == OrderStatus.Ignored else "rejected"
                reason = OrderStatusInfo._fields[result.status_info] if result.status_info >= 0 else ""
                self._bus.publish(ORDER_UPDATES, OrderUpdate(oid, symbol, status, bars.timestamps[row], reason=reason))
                continue
            self.cash, self.free_cash = new_state.cash, new_state.free_cash
            self.position[column], self.debt[column] = new_state.position, new_state.debt
            self._bus.publish(ORDER_UPDATES, OrderUpdate(oid, symbol, "filled", bars.timestamps[row], filled_size=result.size))
            side = 1 if result.side == OrderSide.Buy else -1
            slippage_cost = result.size * abs(result.price - open_prices[column])
            fills.append(
                (
                    oid,
                    bars.timestamps[row],
                    decided_at,
                    column,
                    side,
                    result.size,
                    result.price,
                    result.fees,
                    slippage_cost,
                    weights[column],
                )
            )
        return fills
