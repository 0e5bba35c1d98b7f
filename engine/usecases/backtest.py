"""The backtest API: from a strategy to a result with metrics beside its baselines.

A backtest is the historical feed pushing the strategy's bars through the pipeline into a broker
(`vectorized` by default, or the event-driven `sim`); the same pipeline, fed one bar at a time by
a live feed, is paper trading. The CLI and the TUI are thin faces over this module; a notebook
can call it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine import progress
from engine.analytics.annualization import Annualization, annualization
from engine.analytics.metrics import compute_metrics, trade_table
from engine.analytics.plausibility import implausibilities
from engine.analytics.signal_quality import SignalQuality
from engine.data.store import DataStore, in_store_span
from engine.execution.buy_and_hold import buy_and_hold
from engine.execution.conventions import ExecutionRules
from engine.execution.result import ExecutionResult
from engine.kernel.bars import Bars
from engine.kernel.node import DEFAULT_BROKER, check_finite_equity, execution_of, simulate
from engine.kernel.pipeline import PipelineRun
from engine.kernel.risk import risk_record
from engine.kernel.stage import Stage
from engine.overlays.base import OverlayContext
from engine.overlays.calibration import calibrate_thresholds
from engine.overlays.chain import build_chain, overlay_context
from engine.signals import build_signal
from engine.signals.replayed import ReplayedProbabilities
from engine.strategies.files import load_strategy
from engine.strategies.resolution import ResolvedStrategy, resolve_strategy
from engine.strategies.schema import BuyAndHoldSignal, RiskSpec, Strategy, StrategyError
from engine.usecases.ablation import run_ablation
from engine.usecases.signal_quality import backtest_signal_quality
from engine.workspace import Workspace

if TYPE_CHECKING:  # imported where a model strategy runs, so that a rule strategy never imports torch
    from engine.models.walkforward import TrainedFold, WalkForward
    from engine.signals.cache import CachedPredictions, PredictionCache


@dataclass
class PreparedStrategy:
    """A resolved strategy with its data loaded and, for a model, its walk-forward folds trained."""

    resolved: ResolvedStrategy
    bars: Bars  # including the warm-up history before the first traded bar
    trade_from: int  # first bar that may decide an order
    annualization: Annualization
    rules: ExecutionRules  # the strategy's costs and execution options, in the kernels' form
    walk_forward: WalkForward | None = None  # the trained folds, when this command trained or loaded them
    predictions: CachedPredictions | None = None  # the model's output over every bar, replayed where only overlays vary
    calibration: list[dict] = field(default_factory=list)  # threshold searches (see overlays/calibration)
    overlay_cache: Path | None = None  # OverlayContext.cache_dir: the workspace's models/overlays/

    @classmethod
    def over(cls, strategy: Strategy, bars: Bars) -> PreparedStrategy:
        """A rule strategy over exactly `bars`, trading from the first bar."""
        return cls(
            resolve_strategy(strategy), bars, 0, annualization(strategy, bars.timestamps), ExecutionRules.from_strategy(strategy)
        )

    @property
    def strategy(self) -> Strategy:
        return self.resolved.strategy

    @property
    def periods_per_year(self) -> float:
        return self.annualization.periods_per_year

    def overlay_context(self) -> OverlayContext:
        return overlay_context(self.strategy, self.periods_per_year, self.overlay_cache)

    def signal_stage(self, replay: bool = False) -> Stage:
        """A fresh signal stage (no state carried from an earlier run). A model strategy runs its
        model, or with `replay` (or when only its predictions are at hand) replays them."""
        if self.walk_forward is not None and not replay:
            from engine.signals.learned import learned_stage

            return learned_stage(self.walk_forward)
        if self.predictions is not None:
            return ReplayedProbabilities(f"model:{self.strategy.signal.plugin}", self.predictions.probabilities)
        return build_signal(self.strategy.signal)

    def stages(self, replay: bool = False) -> list[Stage]:
        """Fresh stages: the signal, then the overlays."""
        return [self.signal_stage(replay), *build_chain(self.resolved.chain, self.overlay_context())]

    def with_strategy(self, strategy: Strategy) -> PreparedStrategy:
        """A baseline (a rule signal, no overlays) on the same bars, traded period, annualization and
        execution rules, resolved against the same plugins."""
        resolved = ResolvedStrategy(strategy, None, (), self.resolved.plugins)
        return PreparedStrategy(resolved, self.bars, self.trade_from, self.annualization, self.rules)


def load_bars(strategy: Strategy, store: DataStore) -> Bars:
    """The strategy's bars up to its end. Bars before its start are loaded too: indicators and
    models warm up on them, and nothing trades there."""
    return store.load(strategy.data.symbols, strategy.data.timeframe, None, strategy.data.end)


def _resolved(strategy: Strategy | ResolvedStrategy, workspace: Workspace) -> ResolvedStrategy:
    return strategy if isinstance(strategy, ResolvedStrategy) else resolve_strategy(strategy, workspace=workspace)


def prepare(
    strategy: Strategy | ResolvedStrategy,
    workspace: Workspace,
    on_fold: Callable[[TrainedFold], None] | None = None,
    predictions: PredictionCache | None = None,
) -> PreparedStrategy:
    """Load the bars, train (or reuse) a model's folds, calibrate thresholds. With `predictions`, a
    model whose predictions are cached for these bars is not run again (engine optimize)."""
    return trained(loaded(strategy, workspace), workspace, on_fold, predictions)


def loaded(strategy: Strategy | ResolvedStrategy, workspace: Workspace) -> PreparedStrategy:
    """The first step of `prepare`, where bad input shows: the strategy resolved, its bars loaded and
    checked, its traded period found."""
    resolved = _resolved(strategy, workspace)
    data = resolved.strategy.data
    progress.stage(f"loading {data.timeframe} bars of {', '.join(data.symbols)}")
    bars = load_bars(resolved.strategy, workspace.data)
    start = None if data.start is None else in_store_span(pd.Timestamp(data.start, tz="UTC"))
    trade_from = 0 if start is None else int(np.searchsorted(bars.timestamps, start))
    if trade_from >= len(bars):
        raise StrategyError(
            f"strategy {resolved.name}: data.start {data.start} is after the last stored {data.timeframe} bar of "
            f"{', '.join(data.symbols)} ({bars.index()[-1].date()})"
        )
    periods = annualization(resolved.strategy, bars.timestamps)
    rules = ExecutionRules.from_strategy(resolved.strategy)
    return PreparedStrategy(resolved, bars, trade_from, periods, rules, overlay_cache=workspace.models.root / "overlays")


def trained(
    prepared: PreparedStrategy,
    workspace: Workspace,
    on_fold: Callable[[TrainedFold], None] | None = None,
    predictions: PredictionCache | None = None,
) -> PreparedStrategy:
    """The rest of `prepare`: a model's folds trained or reused, its thresholds calibrated."""
    if prepared.resolved.model is not None:
        prepared = _with_model(prepared, workspace, on_fold, predictions)
    prepared, calibration = calibrate_thresholds(prepared)
    return replace(prepared, calibration=calibration)


def _with_model(prepared: PreparedStrategy, workspace: Workspace, on_fold, cache: PredictionCache | None) -> PreparedStrategy:
    """Train (or reuse) the folds, and the model's output over every bar, computed once."""
    from engine.models.learned import train_learned
    from engine.signals.cache import predictions_of

    setup, bars = prepared.resolved.model, prepared.bars
    if cache is None:
        walk_forward = train_learned(setup, bars, workspace.models, on_fold)
        predictions = predictions_of(walk_forward)
    else:
        walk_forward = None
        predictions = cache.get(setup, bars, lambda: train_learned(setup, bars, workspace.models, on_fold))
    trade_from = max(prepared.trade_from, predictions.first_prediction_row)
    return replace(prepared, trade_from=trade_from, walk_forward=walk_forward, predictions=predictions)


def simulate_strategy(strategy: Strategy, bars: Bars, chunk_size: int | None = None, broker: str = DEFAULT_BROKER) -> PipelineRun:
    """A rule strategy over exactly `bars`, trading from the first bar."""
    return simulate(PreparedStrategy.over(strategy, bars), chunk_size, broker)


def benchmark_of(strategy: Strategy) -> Strategy:
    """Buy-and-hold on the same symbols, period, costs and execution options."""
    return strategy.model_copy(
        update={
            "name": f"buy_and_hold({strategy.name})",
            "signal": BuyAndHoldSignal(kind="buy_and_hold"),
            "overlays": [],
            "risk": RiskSpec(),  # the market's result, which no limit of the strategy's touches
        }
    )


def sma_cross_baseline_of(strategy: Strategy) -> Strategy:
    """The built-in sma_cross rule with the same data, costs and execution options."""
    reference = load_strategy("sma_cross")
    return strategy.model_copy(
        update={"name": f"sma_cross({strategy.name})", "signal": reference.signal, "overlays": [], "risk": RiskSpec()}
    )


def baseline_execution(prepared: PreparedStrategy, name: str) -> ExecutionResult:
    """A baseline's books over the prepared bars: buy-and-hold in closed form (one bar of orders, then
    held: no second pipeline over the whole panel), sma_cross through the pipeline."""
    if name == "buy & hold":
        baseline = benchmark_of(prepared.strategy)
        execution = buy_and_hold(prepared.bars, prepared.trade_from, prepared.rules, baseline.name)
        check_finite_equity(baseline.name, execution.bars.timestamps, execution.equity, 0)
        return execution
    return simulate(prepared.with_strategy(sma_cross_baseline_of(prepared.strategy))).execution


@dataclass
class BacktestResult:
    prepared: PreparedStrategy
    run: PipelineRun
    metrics: dict
    baselines: dict[str, dict]  # "buy & hold" always; "sma_cross" for model strategies
    baseline_equity: dict[str, np.ndarray]  # each baseline's net equity at the same closes
    chunk_size: int | None
    broker: str  # the broker that filled the orders
    ablation: list[dict] | None = None
    warnings: list[str] = field(default_factory=list)  # why the result may be too good to be true, or rest on too few trades
    signal_quality: SignalQuality | None = None  # the signal's IC against what followed (its headline also in `metrics`)

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
        return None if self.prepared.predictions is None else self.prepared.predictions.fold_metrics

    def trades(self) -> pd.DataFrame:
        return trade_table(self.run.execution)

    def risk(self) -> dict:
        """What the risk gate did (engine.kernel.risk.risk_record)."""
        return risk_record(self.strategy.risk, self.run.risk)


def run_backtest(
    strategy: Strategy | ResolvedStrategy,
    workspace: Workspace,
    chunk_size: int | None = None,
    broker: str = DEFAULT_BROKER,
    on_chunk: Callable[[int], None] | None = None,
    on_fold: Callable[[TrainedFold], None] | None = None,
    ablation: bool = False,
) -> BacktestResult:
    prepared = prepare_backtest(strategy, workspace, chunk_size, on_fold)
    return backtest_prepared(prepared, chunk_size, broker, on_chunk, ablation)


def prepare_backtest(
    strategy: Strategy | ResolvedStrategy | PreparedStrategy,
    workspace: Workspace,
    chunk_size: int | None = None,
    on_fold: Callable[[TrainedFold], None] | None = None,
) -> PreparedStrategy:
    """`prepare` for a backtest in chunks of `chunk_size` (from its first step, `loaded`, if done). In
    one chunk a model's predictions are replayed, so they come from the prediction cache when an
    earlier run stored them for these bars; in chunks its stage runs, which needs its folds."""
    first = strategy if isinstance(strategy, PreparedStrategy) else loaded(strategy, workspace)
    predictions = None
    if first.resolved.model is not None and chunk_size is None:
        from engine.signals.cache import PredictionCache

        predictions = PredictionCache.in_store(workspace.models)
    return trained(first, workspace, on_fold, predictions)


def backtest_prepared(
    prepared: PreparedStrategy,
    chunk_size: int | None = None,
    broker: str = DEFAULT_BROKER,
    on_chunk: Callable[[int], None] | None = None,
    ablation: bool = False,
) -> BacktestResult:
    """The prepared strategy backtested, judged beside its baselines."""

    def advance(bars: int) -> None:
        progress.advance(bars)
        if on_chunk is not None:
            on_chunk(bars)

    broker = execution_of(prepared, broker)
    baselines = judged_baselines(prepared)  # first: no baseline's books are ever held beside the strategy's pipeline
    progress.stage(f"backtesting {prepared.strategy.name} ({broker})", len(prepared.bars), "bar")
    run = simulate(prepared, chunk_size, broker, advance)
    return judged(prepared, run, chunk_size, broker, ablation, baselines)


@dataclass(frozen=True)
class JudgedBaselines:
    metrics: dict[str, dict]  # by baseline: "buy & hold" always; "sma_cross" for model strategies
    equity: dict[str, np.ndarray]  # each baseline's net equity at the traded closes


def judged_baselines(prepared: PreparedStrategy) -> JudgedBaselines:
    """The baselines' metrics and equity over the prepared bars, each run in turn and then let go."""
    names = ["buy & hold", *(["sma_cross"] if prepared.resolved.model is not None else [])]
    progress.stage(f"backtesting the baselines: {', '.join(names)}")
    judged = JudgedBaselines({}, {})
    for name in names:
        execution = baseline_execution(prepared, name)
        judged.metrics[name], judged.equity[name] = compute_metrics(execution, prepared.periods_per_year), execution.equity
    return judged


def judged(
    prepared: PreparedStrategy,
    run: PipelineRun,
    chunk_size: int | None,
    broker: str,
    ablation: bool = False,
    baselines: JudgedBaselines | None = None,
) -> BacktestResult:
    """A run over the prepared bars (from `prepared.trade_from`) with its metrics, beside its
    baselines over the same bars (`judged_baselines`, unless given), and the warnings it deserves."""
    strategy, periods = prepared.strategy, prepared.periods_per_year
    baselines = judged_baselines(prepared) if baselines is None else baselines
    quality = backtest_signal_quality(prepared, run)
    metrics = compute_metrics(run.execution, periods) | quality.headline()
    if ablation:
        progress.stage("backtesting the overlay chain step by step (ablation)")
    result = BacktestResult(
        prepared=prepared,
        run=run,
        metrics=metrics,
        baselines=baselines.metrics,
        baseline_equity=baselines.equity,
        chunk_size=chunk_size,
        broker=broker,
        ablation=run_ablation(prepared) if ablation else None,
        signal_quality=quality,
    )
    judged_by_trades = not (isinstance(strategy.signal, BuyAndHoldSignal) and not strategy.overlays)  # it holds the market
    result.warnings = implausibilities(metrics, result.fold_metrics(), prepared.calibration, judged_by_trades)
    return result
