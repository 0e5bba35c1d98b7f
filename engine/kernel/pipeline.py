"""Wiring: feed -> signal stage -> overlay chain -> order router -> broker -> ledger, on one bus.

    push(chunk) ──► stage 0 (signal) ──► stage 1 … n (overlays) ──► targets/final ──► router ──► orders
        │                                                                                      │
        └──────────────────► broker (sees the market first) ◄── risk gate, at each close ◄────┘
                                       │ order updates, fills (whenever they come), account
                                       ▼
                                     ledger (books fills, marks equity at each close, reconciles)

The pipeline is fed: a feed (engine.feeds.port) calls `push` with each chunk as it arrives, and
`close` ends the run. Which broker executes the orders (engine.execution.port) is the caller's
choice; the pipeline does not know or care. Every broker asks the same risk gate
(engine.kernel.risk) which of a close's orders may go. `engine.kernel.node` assembles a pipeline for
each mode; nothing else reaches into its parts: what a caller wants to hear, it names as
`listeners`, and `state` tells where the books stand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.execution.conventions import orders_from_targets_nb
from engine.execution.port import Broker
from engine.execution.result import ExecutionResult
from engine.feeds.port import Feed
from engine.kernel.bars import Bars
from engine.kernel.bus import EventBus
from engine.kernel.compiled_replay import CompiledReplay
from engine.kernel.events import AccountDifference, BarChunk, EndOfData, OrderBatch, TargetChunk
from engine.kernel.ledger import Ledger
from engine.kernel.risk import RiskEvent, RiskGate
from engine.kernel.stage import Stage, StageError
from engine.kernel.topics import BARS, CLOSES, END, FINAL_TARGETS, ORDERS, RISK, stage_topic
from engine.strategies.schema import RiskSpec

Listener = tuple[str, Callable]  # (topic, handler): what a caller hears of a run


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
    at or after it orders every target (but those already `held`).
    """

    def __init__(self, bus: EventBus, trade_from: np.datetime64 | None, strategy: str, held: np.ndarray | None = None) -> None:
        """`held`: the targets already ordered before `trade_from` (a resumed paper session's)."""
        self._bus = bus
        self._trade_from = trade_from
        self._strategy = strategy
        self._previous = held
        bus.subscribe(FINAL_TARGETS, self.on_targets)

    def on_targets(self, event: TargetChunk) -> None:
        first = 0 if self._trade_from is None else int(np.searchsorted(event.bars.timestamps, self._trade_from))
        if first == len(event.bars):  # warm-up bars only
            orders = np.full(event.weights.shape, np.nan)
        else:
            previous = np.full(len(event.bars.symbols), np.nan) if self._previous is None else self._previous
            orders = orders_from_targets_nb(event.weights[first:], previous)
            self._previous = event.weights[-1]
            if first:
                orders = np.vstack([np.full((first, orders.shape[1]), np.nan), orders])
        self._bus.publish(ORDERS, OrderBatch(event.bars, orders, self._strategy))


@dataclass
class PipelineRun:
    execution: ExecutionResult
    stage_outputs: dict[str, np.ndarray]  # stage topic -> weights for every bar
    differences: list[AccountDifference]  # where the broker's account disagreed with the ledger
    risk: list[RiskEvent] = field(default_factory=list)  # what the risk gate tripped on, refused and cut


@dataclass(frozen=True)
class PipelineState:
    """Where a running pipeline stands after the last chunk it took."""

    cash: float
    positions: np.ndarray  # shares per symbol
    stage_weights: dict[str, np.ndarray]  # each stage's weights at the last bar, by topic
    fills: int  # booked so far
    halted: str | None  # why the risk gate stopped trading; None while it trades

    @property
    def targets(self) -> np.ndarray:
        """The final targets at the last bar."""
        return list(self.stage_weights.values())[-1]


class Pipeline:
    def __init__(
        self,
        stages: list[Stage],
        broker: Broker,
        symbols: tuple[str, ...],
        initial_cash: float,
        trade_from: np.datetime64 | None = None,
        strategy: str = "run",
        held_targets: np.ndarray | None = None,
        gate: RiskGate | None = None,
        listeners: Sequence[Listener] = (),
        compiled: bool = False,
    ) -> None:
        """`trade_from`: bars before it only warm the stages up; `strategy` names the orders (their ids);
        `held_targets`: what was ordered before `trade_from` (see OrderRouter); `gate`: the risk
        gate every order passes (default: only the reconciliation difference halts trading);
        `compiled`: `broker` is the sim broker and no one else listens to the orders, fills and
        books: they run as one compiled step (engine.kernel.compiled_replay), not through events."""
        if not stages:
            raise ValueError("a pipeline needs at least a signal stage")
        self._bus = bus = EventBus()
        self.symbols = tuple(symbols)
        self._gate = RiskGate(RiskSpec(), initial_cash) if gate is None else gate
        self._gate.attach(bus, self.symbols)
        self._books: Ledger | CompiledReplay
        if compiled:
            self._books = CompiledReplay(
                bus, self.symbols, broker.rules, initial_cash, trade_from, strategy, held_targets, self._gate
            )
        else:
            broker.attach(bus, self.symbols, self._gate)  # before the stages: the market reaches the broker first
            self._books = Ledger(bus, self.symbols, initial_cash)
        input_topic = BARS
        self._outputs: dict[str, list[np.ndarray]] = {}
        for position, stage in enumerate(stages):
            runner = StageRunner(bus, stage, position, input_topic, is_last=position == len(stages) - 1)
            self._outputs[runner.topic] = parts = []
            bus.subscribe(runner.topic, lambda event, parts=parts: parts.append(event.weights))
            input_topic = runner.topic
        if not compiled:
            OrderRouter(bus, trade_from, strategy, held_targets)
        self._risk: list[RiskEvent] = []
        bus.subscribe(RISK, self._risk.append)
        for topic, handler in listeners:
            bus.subscribe(topic, handler)
        self._closed = False
        self._last_stamp: np.datetime64 | None = None

    @property
    def compiled(self) -> bool:
        """Whether its orders, fills and books run as one compiled step (no events for them)."""
        return isinstance(self._books, CompiledReplay)

    def state(self) -> PipelineState:
        last = {topic: parts[-1][-1] for topic, parts in self._outputs.items() if parts}
        books = self._books
        return PipelineState(float(books.cash), books.positions.copy(), last, books.fill_count, self._gate.halted)

    def halt(self, reason: str) -> None:
        """Stop trading through the risk gate, as a tripped limit does (from any thread: `engine paper
        halt`); stamped with the last bar taken."""
        self._gate.halt(reason, self._last_stamp)

    def push(self, bars: Bars) -> None:
        """One chunk of consecutive bars, after every chunk pushed before it."""
        if self._closed:
            raise RuntimeError("the pipeline is closed")
        if bars.symbols != self.symbols:
            raise ValueError(f"a chunk over {bars.symbols} was pushed into a pipeline over {self.symbols}")
        event = BarChunk(bars)
        self._last_stamp = bars.timestamps[-1]
        self._bus.publish(BARS, event)
        self._bus.publish(CLOSES, event)

    def close(self) -> PipelineRun:
        """End the run: the broker settles what it holds, and the books are returned."""
        self._closed = True
        self._bus.publish(END, EndOfData())
        run = PipelineRun(
            execution=self._books.result(),
            stage_outputs={
                topic: parts[0] if len(parts) == 1 else np.concatenate(parts) for topic, parts in self._outputs.items()
            },
            differences=list(self._books.differences),
            risk=list(self._risk),
        )
        self._bus.clear()  # its handlers hold the parts and the parts the bus: they go now, not at the next collection
        return run


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """A stage's outputs over the run: one chunk's as they are (no copy of a whole history)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def run_feed(pipeline: Pipeline, feed: Feed, on_chunk: Callable[[int], None] | None = None) -> PipelineRun:
    """A run: the feed pushes every chunk into the pipeline, which is then closed. `on_chunk` hears
    how many bars each chunk had, after the pipeline has taken it (for progress)."""

    def push(chunk: Bars) -> None:
        pipeline.push(chunk)
        on_chunk(len(chunk))

    feed.run(pipeline.push if on_chunk is None else push)
    return pipeline.close()
