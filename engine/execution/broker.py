"""The event-driven sim broker: orders in, fills out, on the bus.

It sees market data before the strategy does (the pipeline subscribes it first), holds orders
decided at one bar's close until the next bar's open, and executes them there with vectorbt's
order kernel under the rules of `engine.execution.conventions`. Its account state (cash, free
cash, positions, short debt) is vectorbt's, so it fills exactly as `Portfolio.from_orders` does.
"""

from __future__ import annotations

import numpy as np
from vectorbt.portfolio import nb as vbt_nb
from vectorbt.portfolio.enums import OrderSide, OrderStatus, ProcessOrderState

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import BarChunk, Fill, FillBatch, OrderBatch
from engine.execution.conventions import ExecutionRules, execution_sequence
from engine.topics import BARS, FILLS, ORDERS


class SimBroker:
    def __init__(self, bus: EventBus, rules: ExecutionRules, n_symbols: int) -> None:
        self.rules = rules
        self.cash = rules.initial_cash
        self.free_cash = rules.initial_cash
        self.position = np.zeros(n_symbols)
        self.debt = np.zeros(n_symbols)
        self._bus = bus
        self._chunk: Bars | None = None
        self._bars_seen = 0
        self._pending: tuple[np.ndarray, np.datetime64] | None = None
        bus.subscribe(BARS, self.on_bars)
        bus.subscribe(ORDERS, self.on_orders)

    def on_bars(self, event: BarChunk) -> None:
        self._chunk = event.bars

    def on_orders(self, event: OrderBatch) -> None:
        bars = self._chunk
        if bars is None or bars.timestamps[0] != event.bars.timestamps[0]:
            raise RuntimeError("orders arrived for bars the broker has not seen")
        fills: list[Fill] = []
        for row in range(len(bars)):
            if self._pending is not None:
                fills.extend(self._execute(bars, row))
            weights = event.target_weights[row]
            self._pending = (weights, bars.timestamps[row]) if not np.isnan(weights).all() else None
        self._bars_seen += len(bars)
        self._bus.publish(FILLS, FillBatch(bars, tuple(fills)))

    def _execute(self, bars: Bars, row: int) -> list[Fill]:
        weights, decided_at = self._pending
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
            if result.status != OrderStatus.Filled:
                continue
            self.cash, self.free_cash = new_state.cash, new_state.free_cash
            self.position[column], self.debt[column] = new_state.position, new_state.debt
            fills.append(
                Fill(
                    timestamp=bars.timestamps[row],
                    decided_at=decided_at,
                    bar=self._bars_seen + row,
                    symbol=bars.symbols[column],
                    column=int(column),
                    side="buy" if result.side == OrderSide.Buy else "sell",
                    size=result.size,
                    price=result.price,
                    fees=result.fees,
                    slippage_cost=result.size * abs(result.price - open_prices[column]),
                    target_weight=float(weights[column]),
                )
            )
        return fills
