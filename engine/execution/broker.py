"""The event-driven sim broker: orders in, fills out, on the bus.

It sees market data before the strategy does (the pipeline subscribes it first), holds orders
decided at one bar's close until the next bar's open, and executes them there with vectorbt's
order kernel under the rules of `engine.execution.conventions`. Its account state (cash, free
cash, positions, short debt) is vectorbt's, and each bar runs through `execute_bar_nb`, the kernel
the vectorized backtest runs, so both fill alike.
"""

from __future__ import annotations

import numpy as np
from vectorbt.portfolio.enums import OrderSide, order_dt

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import BarChunk, Fill, FillBatch, OrderBatch
from engine.execution.conventions import ExecutionRules, execute_bar_nb
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
        records = np.empty(len(weights), dtype=order_dt)
        self.cash, self.free_cash, n_filled = execute_bar_nb(
            row, weights, open_prices, self.cash, self.free_cash, self.position, self.debt, self.rules.terms, records, 0
        )
        fills = []
        for record in records[:n_filled]:
            column = int(record["col"])
            fills.append(
                Fill(
                    timestamp=bars.timestamps[row],
                    decided_at=decided_at,
                    bar=self._bars_seen + row,
                    symbol=bars.symbols[column],
                    column=column,
                    side="buy" if record["side"] == OrderSide.Buy else "sell",
                    size=float(record["size"]),
                    price=float(record["price"]),
                    fees=float(record["fees"]),
                    slippage_cost=float(record["size"] * abs(record["price"] - open_prices[column])),
                    target_weight=float(weights[column]),
                )
            )
        return fills
