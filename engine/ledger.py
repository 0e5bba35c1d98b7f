"""The ledger: cash, positions and equity, kept from the broker's fills and marked at each close."""

from __future__ import annotations

import numpy as np

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import Fill, FillBatch
from engine.execution.result import ExecutionResult, fills_frame
from engine.topics import FILLS


class Ledger:
    def __init__(self, bus: EventBus, n_symbols: int, initial_cash: float) -> None:
        self.initial_cash = initial_cash
        self.cash = initial_cash
        self.positions = np.zeros(n_symbols)
        self._fills: list[Fill] = []
        self._chunks: list[Bars] = []
        self._equity: list[np.ndarray] = []
        self._cash: list[np.ndarray] = []
        self._positions: list[np.ndarray] = []
        bus.subscribe(FILLS, self.on_fills)

    def on_fills(self, event: FillBatch) -> None:
        bars = event.bars
        equity, cash, positions = np.empty(len(bars)), np.empty(len(bars)), np.empty(bars.shape)
        fills = iter(event.fills)
        fill = next(fills, None)
        for row, timestamp in enumerate(bars.timestamps):
            while fill is not None and fill.timestamp == timestamp:
                self._apply(fill)
                fill = next(fills, None)
            cash[row] = self.cash
            positions[row] = self.positions
            equity[row] = self.cash + self.positions @ bars.close[row]
        if fill is not None:
            raise RuntimeError(f"fill at {fill.timestamp} does not belong to the bars it came with")
        self._chunks.append(bars)
        self._equity.append(equity)
        self._cash.append(cash)
        self._positions.append(positions)

    def _apply(self, fill: Fill) -> None:
        notional = fill.size * fill.price
        if fill.side == "buy":
            self.cash -= notional + fill.fees
            self.positions[fill.column] += fill.size
        else:
            self.cash += notional - fill.fees
            self.positions[fill.column] -= fill.size
        self._fills.append(fill)

    def result(self) -> ExecutionResult:
        return ExecutionResult(
            bars=Bars.concat(self._chunks),
            equity=np.concatenate(self._equity),
            cash=np.concatenate(self._cash),
            positions=np.concatenate(self._positions),
            fills=fills_frame(self._fills),
            fill_bars=np.array([fill.bar for fill in self._fills], dtype=np.int64),
            fill_columns=np.array([fill.column for fill in self._fills], dtype=np.int64),
            initial_cash=self.initial_cash,
        )
