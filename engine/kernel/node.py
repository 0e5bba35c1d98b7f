"""The node: one assembly of the pipeline for every mode (DESIGN §12).

A prepared strategy (found, validated, resolved and its data loaded once: engine.usecases.backtest.prepare)
and a `Mode` give the running pipeline: the strategy's stages, its execution rules, its risk gate
(the strategy's `[risk]` limits) in front of the mode's broker, and the ledger. A vectorized or
replayed backtest, `engine check`, an optimize trial, each ablation and calibration step, the dry
run and the Alpaca session all get their pipeline here, so they cannot drift apart: what differs
between them is only what the mode names (who fills the orders, from which bar they may trade,
what a caller listens to), and the feed that pushes the bars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.errors import UserError
from engine.execution.conventions import ExecutionRules
from engine.execution.port import Broker
from engine.feeds.historical import HistoricalFeed
from engine.kernel.bars import Bars
from engine.kernel.pipeline import Listener, Pipeline, PipelineRun, run_feed
from engine.kernel.risk import RiskGate
from engine.kernel.stage import Stage
from engine.plugins.registry import PluginRegistry
from engine.strategies.schema import Strategy


class Resolved(Protocol):
    plugins: PluginRegistry  # what the strategy was resolved against: its brokers among them


class PreparedStrategy(Protocol):
    """What the node needs of a prepared strategy (engine.usecases.backtest.PreparedStrategy)."""

    resolved: Resolved
    bars: Bars  # the warm-up history and the traded bars
    trade_from: int  # the first bar that may decide an order
    rules: ExecutionRules

    @property
    def strategy(self) -> Strategy: ...

    def stages(self, replay: bool = False) -> list[Stage]: ...


DEFAULT_BROKER = "vectorized"
SIM = "sim"  # the event-driven broker: `--execution replay`, and where a broker cannot ask the gate
REPLAY = "replay"


def broker_of(execution: str) -> str:
    """The broker an execution names: `replay` is the event-driven `sim`; any other is a broker's name."""
    return SIM if execution == REPLAY else execution


@dataclass(frozen=True)
class Mode:
    """Where a prepared strategy runs."""

    broker: str | Broker = DEFAULT_BROKER  # a broker's name (vectorized, sim, a plugin's), or one built (Alpaca's)
    replay: bool = False  # replay a model's predictions, computed once in `prepare`, instead of running it
    trade_from: np.datetime64 | None = None  # bars before it only warm up; None: the strategy's first traded bar
    held_targets: np.ndarray | None = None  # what was ordered before `trade_from` (a resumed session's)
    initial_cash: float | None = None  # the account's, when the broker brings one; None: the strategy's
    halted: str | None = None  # a resumed session's halt, still in force
    stages: Sequence[Stage] | None = None  # instead of the strategy's own (an ablation step's)
    listeners: Sequence[Listener] = ()  # (topic, handler) pairs: what the caller hears of the run


def build_node(prepared: PreparedStrategy, mode: Mode = Mode()) -> Pipeline:
    """The pipeline of `prepared` in `mode`, with fresh stages (no state carried from another run)."""
    rules, bars = prepared.rules, prepared.bars
    initial_cash = rules.initial_cash if mode.initial_cash is None else mode.initial_cash
    gate = RiskGate(prepared.strategy.risk, initial_cash, mode.halted)
    broker, compiled = mode.broker, False
    if isinstance(broker, str):
        name = execution_of(prepared, broker)
        # Nothing outside the pipeline hears the sim broker's events: they need not exist (engine.kernel.compiled_replay).
        compiled = name == SIM and not mode.listeners and not gate.watches_bars
        broker = prepared.resolved.plugins.get("broker", name)(rules)
    trade_from = bars.timestamps[prepared.trade_from] if mode.trade_from is None else mode.trade_from
    return Pipeline(
        list(mode.stages) if mode.stages is not None else prepared.stages(replay=mode.replay),
        broker,
        bars.symbols,
        initial_cash,
        trade_from,
        prepared.strategy.name,
        mode.held_targets,
        gate,
        mode.listeners,
        compiled,
    )


def execution_of(prepared: PreparedStrategy, broker: str) -> str:
    """The broker that fills `broker`'s orders for this strategy: itself, but where the strategy's
    limits watch every close and it cannot stop there to ask the gate (`gated = False`, as
    `vectorized`): then `sim`, which fills alike."""
    if prepared.strategy.risk.watches_bars and not getattr(prepared.resolved.plugins.get("broker", broker), "gated", True):
        return SIM
    return broker


def simulate(
    prepared: PreparedStrategy,
    chunk_size: int | None = None,
    broker: str = DEFAULT_BROKER,
    on_chunk: Callable[[int], None] | None = None,
    stages: Sequence[Stage] | None = None,
) -> PipelineRun:
    """The historical feed over all prepared bars, in chunks of `chunk_size` (all at once when
    None); the result covers the traded period only. In one chunk, a model's predictions are
    replayed: they are what its stage outputs over the whole history, computed once in `prepare`."""
    node = build_node(prepared, Mode(broker=broker, replay=chunk_size is None, stages=stages))
    run = run_feed(node, HistoricalFeed(prepared.bars, chunk_size), on_chunk)
    first = prepared.trade_from
    check_finite_equity(prepared.strategy.name, prepared.bars.timestamps, run.execution.equity, first)
    return traded_part(run, first)


def traded_part(run: PipelineRun, first: int) -> PipelineRun:
    """The run from bar `first` on: what was traded after the warm-up."""
    return PipelineRun(
        run.execution.since(first),
        {topic: out[first:] for topic, out in run.stage_outputs.items()},
        run.differences,
        run.risk,
    )


def check_finite_equity(name: str, timestamps: np.ndarray, equity: np.ndarray, first: int) -> None:
    """No result with an infinite or undefined equity is stored or reported."""
    broken = ~np.isfinite(equity[first:])
    if broken.any():
        at = str(timestamps[first + int(np.argmax(broken))])[:19]
        raise UserError(f"{name}: the equity is not a finite number from {at} on: prices or cash too large to compute with")
