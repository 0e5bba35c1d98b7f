"""Wiring: feed -> signal stage -> overlay chain -> order router -> execution -> ledger, on one bus.

    bars ──► stage 0 (signal) ──► stage 1 … n (overlays) ──► targets/final ──► router ──► orders
      │                                                                                  │
      └──────────────────────────► broker (sees the market first) ◄─────────────────────┘
                                     │ fills
                                     ▼
                                   ledger (marks equity at each close)

In vectorized mode the broker and ledger are replaced by one vectorbt simulation at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import BarChunk, EndOfData, OrderBatch, TargetChunk
from engine.execution.broker import SimBroker
from engine.execution.conventions import ExecutionRules, orders_from_targets
from engine.execution.result import ExecutionResult
from engine.execution.vectorized import VectorizedExecution
from engine.ledger import Ledger
from engine.stage import Stage, StageError
from engine.topics import BARS, END, FINAL_TARGETS, ORDERS, stage_topic

ExecutionMode = Literal["vectorized", "replay"]


class StageRunner:
    """Runs one stage on the bus: listens to its input topic, publishes its weights on its own."""

    def __init__(self, bus: EventBus, stage: Stage, position: int, input_topic: str, is_last: bool) -> None:
        self.stage, self.topic = stage, stage_topic(position, stage.name)
        self._bus, self._is_last = bus, is_last
        bus.subscribe(input_topic, self.on_bars if position == 0 else self.on_targets)

    def on_bars(self, event: BarChunk) -> None:
        self._emit(event.bars, self.stage.on_chunk(event.bars, None, None), None)

    def on_targets(self, event: TargetChunk) -> None:
        self._emit(event.bars, self.stage.on_chunk(event.bars, event.weights, event.signal), event.signal)

    def _emit(self, bars: Bars, weights, signal) -> None:
        try:
            chunk = TargetChunk(self.stage.name, bars, weights, signal)
        except ValueError as error:
            raise StageError(f"stage {self.stage.name}: {error}") from None
        if not np.isfinite(chunk.weights).all():
            raise StageError(f"stage {self.stage.name}: returned NaN or infinite weights")
        self._bus.publish(self.topic, chunk)
        if self._is_last:
            self._bus.publish(FINAL_TARGETS, chunk)


class OrderRouter:
    """Turns final targets into orders: one wherever a symbol's target changes.

    Bars before `trade_from` only warm the stages up: they place no orders, and the first bar
    at or after it orders every target.
    """

    def __init__(self, bus: EventBus, trade_from: np.datetime64 | None = None) -> None:
        self._bus = bus
        self._trade_from = trade_from
        self._previous: np.ndarray | None = None
        bus.subscribe(FINAL_TARGETS, self.on_targets)

    def on_targets(self, event: TargetChunk) -> None:
        orders = np.full(event.weights.shape, np.nan)
        tradable = np.ones(len(event.bars), dtype=bool) if self._trade_from is None else event.bars.timestamps >= self._trade_from
        if tradable.any():
            orders[tradable] = orders_from_targets(event.weights[tradable], self._previous)
            self._previous = event.weights[tradable][-1]
        self._bus.publish(ORDERS, OrderBatch(event.bars, orders))


@dataclass
class PipelineRun:
    execution: ExecutionResult
    stage_outputs: dict[str, np.ndarray]  # stage topic -> weights for every bar


class Pipeline:
    def __init__(
        self,
        stages: list[Stage],
        rules: ExecutionRules,
        n_symbols: int,
        mode: ExecutionMode,
        trade_from: np.datetime64 | None = None,
    ) -> None:
        if not stages:
            raise ValueError("a pipeline needs at least a signal stage")
        self.bus = EventBus()
        if mode == "replay":
            # Subscribed before the stages: the market reaches the broker before the strategy.
            SimBroker(self.bus, rules, n_symbols)
            self._executor = Ledger(self.bus, n_symbols, rules.initial_cash)
        elif mode == "vectorized":
            self._executor = None
        else:
            raise ValueError(f"unknown execution mode {mode!r}: use vectorized or replay")
        self.runners = []
        input_topic = BARS
        for position, stage in enumerate(stages):
            runner = StageRunner(self.bus, stage, position, input_topic, is_last=position == len(stages) - 1)
            self.runners.append(runner)
            input_topic = runner.topic
        OrderRouter(self.bus, trade_from)
        if mode == "vectorized":
            self._executor = VectorizedExecution(self.bus, rules)
        self._outputs: dict[str, list[np.ndarray]] = {runner.topic: [] for runner in self.runners}
        for topic, parts in self._outputs.items():
            self.bus.subscribe(topic, lambda event, parts=parts: parts.append(event.weights))

    def run(self, bars: Bars, chunk_size: int | None = None, on_chunk: Callable[[int], None] | None = None) -> PipelineRun:
        """Feed `bars` in chunks of `chunk_size` rows (all at once when None)."""
        for chunk in bars.chunks(chunk_size):
            self.bus.publish(BARS, BarChunk(chunk))
            if on_chunk is not None:
                on_chunk(len(chunk))
        self.bus.publish(END, EndOfData())
        return PipelineRun(
            execution=self._executor.result(),
            stage_outputs={topic: np.concatenate(parts) for topic, parts in self._outputs.items()},
        )
