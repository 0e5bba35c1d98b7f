"""The backtest API: one call from a strategy to a result with metrics beside buy-and-hold.

The CLI and the TUI are thin faces over this module; a notebook can call it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from engine.bars import Bars
from engine.data.store import DataStore
from engine.execution.conventions import ExecutionRules
from engine.metrics import compute_metrics, trade_table
from engine.pipeline import ExecutionMode, Pipeline, PipelineRun
from engine.signals import build_signal
from engine.stage import Stage
from engine.strategy import BuyAndHoldSignal, Strategy


def build_stages(strategy: Strategy) -> list[Stage]:
    """Fresh (stateless-at-start) stages for a strategy: its signal, then its overlays in order."""
    return [build_signal(strategy.signal)]


def load_bars(strategy: Strategy, store: DataStore) -> Bars:
    data = strategy.data
    return store.load(data.symbols, data.timeframe, data.start, data.end)


def benchmark_of(strategy: Strategy) -> Strategy:
    """Buy-and-hold on the same symbols, period, costs and execution options."""
    return strategy.model_copy(update={"name": f"buy_and_hold({strategy.name})", "signal": BuyAndHoldSignal(kind="buy_and_hold")})


@dataclass
class BacktestResult:
    strategy: Strategy
    bars: Bars
    run: PipelineRun
    metrics: dict
    benchmark_metrics: dict
    chunk_size: int | None
    mode: ExecutionMode

    @property
    def execution(self):
        return self.run.execution

    def trades(self) -> pd.DataFrame:
        return trade_table(self.run.execution)


def simulate_strategy(
    strategy: Strategy,
    bars: Bars,
    chunk_size: int | None = None,
    mode: ExecutionMode = "vectorized",
    stages: list[Stage] | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> PipelineRun:
    pipeline = Pipeline(stages or build_stages(strategy), ExecutionRules.from_strategy(strategy), len(bars.symbols), mode)
    return pipeline.run(bars, chunk_size, on_chunk)


def run_backtest(
    strategy: Strategy,
    store: DataStore,
    chunk_size: int | None = None,
    mode: ExecutionMode = "vectorized",
    on_chunk: Callable[[int], None] | None = None,
) -> BacktestResult:
    bars = load_bars(strategy, store)
    run = simulate_strategy(strategy, bars, chunk_size, mode, on_chunk=on_chunk)
    benchmark = simulate_strategy(benchmark_of(strategy), bars)
    return BacktestResult(
        strategy=strategy,
        bars=bars,
        run=run,
        metrics=compute_metrics(run.execution, strategy.periods_per_year),
        benchmark_metrics=compute_metrics(benchmark.execution, strategy.periods_per_year),
        chunk_size=chunk_size,
        mode=mode,
    )
