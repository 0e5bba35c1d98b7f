"""The backtest API: from a strategy to a result with metrics beside its baselines.

The CLI and the TUI are thin faces over this module; a notebook can call it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from engine.ablation import run_ablation
from engine.bars import Bars
from engine.data.store import DataStore
from engine.execution.conventions import ExecutionRules
from engine.metrics import compute_metrics, trade_table
from engine.models.walkforward import ModelSetup, TrainedFold, WalkForward, train_walk_forward
from engine.overlays.calibration import calibrate_thresholds
from engine.overlays.chain import build_chain
from engine.pipeline import ExecutionMode, Pipeline, PipelineRun
from engine.plugins.registry import registry
from engine.signals import build_signal
from engine.signals.cache import CachedPredictions, PredictionCache, ReplayedProbabilities
from engine.signals.model import ModelProbability
from engine.stage import Stage
from engine.strategy import BuyAndHoldSignal, ModelSignal, Strategy, load_strategy
from engine.workspace import Workspace


@dataclass
class PreparedStrategy:
    """A strategy with its data loaded and, for a model, its walk-forward folds trained."""

    strategy: Strategy
    bars: Bars  # including the warm-up history before the first traded bar
    trade_from: int  # first bar that may decide an order
    walk_forward: WalkForward | None = None
    calibration: list[dict] = field(default_factory=list)  # threshold searches (see overlays/calibration)
    cached: CachedPredictions | None = None  # the model's predictions, replayed from the prediction cache

    def signal_stage(self) -> Stage:
        """A fresh signal stage (no state carried from an earlier run)."""
        if self.cached is not None:
            return ReplayedProbabilities(f"model:{self.strategy.signal.plugin}", self.cached.probabilities)
        if self.walk_forward is not None:
            return ModelProbability(self.walk_forward)
        return build_signal(self.strategy.signal)

    def stages(self) -> list[Stage]:
        """Fresh stages: the signal, then the overlays."""
        return [self.signal_stage(), *build_chain(self.strategy)]

    def with_strategy(self, strategy: Strategy) -> PreparedStrategy:
        """Another rule strategy on the same bars and traded period (for baselines)."""
        return PreparedStrategy(strategy, self.bars, self.trade_from)


def load_bars(strategy: Strategy, store: DataStore) -> Bars:
    """The strategy's bars up to its end. Bars before its start are loaded too: indicators and
    models warm up on them, and nothing trades there."""
    return store.load(strategy.data.symbols, strategy.data.timeframe, None, strategy.data.end)


def prepare(
    strategy: Strategy,
    workspace: Workspace,
    on_fold: Callable[[TrainedFold], None] | None = None,
    predictions: PredictionCache | None = None,
) -> PreparedStrategy:
    """Load the bars, train (or reuse) a model's folds, calibrate thresholds. With `predictions`, a
    model whose predictions are cached for these bars is not run again (engine optimize)."""
    data = strategy.data
    bars = load_bars(strategy, workspace.data)
    trade_from = 0 if data.start is None else int(np.searchsorted(bars.timestamps, pd.Timestamp(data.start).to_datetime64()))
    if trade_from >= len(bars):
        raise LookupError(f"no {data.timeframe} bars for {', '.join(data.symbols)} on or after {data.start}")
    walk_forward = cached = None
    if isinstance(strategy.signal, ModelSignal):
        setup = ModelSetup(strategy.signal, registry())
        if predictions is None:
            walk_forward = train_walk_forward(setup, bars, workspace.models, on_fold)
        else:
            cached = predictions.get(setup, bars, lambda: train_walk_forward(setup, bars, workspace.models, on_fold))
        trade_from = max(trade_from, (walk_forward or cached).first_prediction_row)
    prepared = PreparedStrategy(strategy, bars, trade_from, walk_forward, cached=cached)
    prepared, calibration = calibrate_thresholds(prepared, simulate)
    return replace(prepared, calibration=calibration)


def simulate(
    prepared: PreparedStrategy,
    chunk_size: int | None = None,
    mode: ExecutionMode = "vectorized",
    on_chunk: Callable[[int], None] | None = None,
    stages: list[Stage] | None = None,
) -> PipelineRun:
    """Run the pipeline over all prepared bars; the result covers the traded period only."""
    bars, first = prepared.bars, prepared.trade_from
    rules = ExecutionRules.from_strategy(prepared.strategy)
    pipeline = Pipeline(stages or prepared.stages(), rules, len(bars.symbols), mode, bars.timestamps[first])
    run = pipeline.run(bars, chunk_size, on_chunk)
    return PipelineRun(run.execution.since(first), {topic: out[first:] for topic, out in run.stage_outputs.items()})


def simulate_strategy(
    strategy: Strategy, bars: Bars, chunk_size: int | None = None, mode: ExecutionMode = "vectorized"
) -> PipelineRun:
    """A rule strategy over exactly `bars`, trading from the first bar."""
    return simulate(PreparedStrategy(strategy, bars, 0), chunk_size, mode)


def benchmark_of(strategy: Strategy) -> Strategy:
    """Buy-and-hold on the same symbols, period, costs and execution options."""
    return strategy.model_copy(
        update={"name": f"buy_and_hold({strategy.name})", "signal": BuyAndHoldSignal(kind="buy_and_hold"), "overlays": []}
    )


def sma_cross_baseline_of(strategy: Strategy) -> Strategy:
    """The built-in sma_cross rule with the same data, costs and execution options."""
    reference = load_strategy("sma_cross")
    return strategy.model_copy(update={"name": f"sma_cross({strategy.name})", "signal": reference.signal, "overlays": []})


@dataclass
class BacktestResult:
    prepared: PreparedStrategy
    run: PipelineRun
    metrics: dict
    baselines: dict[str, dict]  # "buy & hold" always; "sma_cross" for model strategies
    baseline_equity: dict[str, np.ndarray]  # each baseline's net equity at the same closes
    chunk_size: int | None
    mode: ExecutionMode
    ablation: list[dict] | None = None

    @property
    def strategy(self) -> Strategy:
        """The strategy as run: thresholds calibrated, if it asked for that."""
        return self.prepared.strategy

    @property
    def bars(self) -> Bars:
        return self.run.execution.bars

    @property
    def execution(self):
        return self.run.execution

    def fold_metrics(self) -> list[dict] | None:
        if self.prepared.cached is not None:
            return self.prepared.cached.fold_metrics
        return None if self.prepared.walk_forward is None else self.prepared.walk_forward.fold_metrics()

    def trades(self) -> pd.DataFrame:
        return trade_table(self.run.execution)


def run_backtest(
    strategy: Strategy,
    workspace: Workspace,
    chunk_size: int | None = None,
    mode: ExecutionMode = "vectorized",
    on_chunk: Callable[[int], None] | None = None,
    on_fold: Callable[[TrainedFold], None] | None = None,
    ablation: bool = False,
) -> BacktestResult:
    prepared = prepare(strategy, workspace, on_fold)
    run = simulate(prepared, chunk_size, mode, on_chunk)
    periods = strategy.periods_per_year
    baselines = {"buy & hold": benchmark_of(strategy)}
    if isinstance(strategy.signal, ModelSignal):
        baselines["sma_cross"] = sma_cross_baseline_of(strategy)
    baseline_runs = {name: simulate(prepared.with_strategy(baseline)).execution for name, baseline in baselines.items()}
    return BacktestResult(
        prepared=prepared,
        run=run,
        metrics=compute_metrics(run.execution, periods),
        baselines={name: compute_metrics(execution, periods) for name, execution in baseline_runs.items()},
        baseline_equity={name: execution.equity for name, execution in baseline_runs.items()},
        chunk_size=chunk_size,
        mode=mode,
        ablation=run_ablation(prepared, simulate) if ablation else None,
    )
