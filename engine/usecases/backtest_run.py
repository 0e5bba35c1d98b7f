"""A backtest journaled in the run store, and what it leaves there as plain records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from engine import progress
from engine.data.store import DataStore
from engine.stores.runs import RunRecords, library_versions, now
from engine.stores.wide_table import WideTable
from engine.strategies.resolution import ResolvedStrategy
from engine.usecases.backtest import DEFAULT_BROKER, BacktestResult, PreparedStrategy, backtest_prepared, loaded, prepare_backtest
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.models.walkforward import TrainedFold


@dataclass(frozen=True)
class StoredBacktest:
    result: BacktestResult
    run_id: str
    report: Path  # the run's HTML tearsheet


def journaled_backtest(
    resolved: ResolvedStrategy,
    workspace: Workspace,
    command: list[str],
    chunk_size: int | None = None,
    broker: str = DEFAULT_BROKER,
    on_fold: Callable[[TrainedFold], None] | None = None,
    ablation: bool = False,
) -> StoredBacktest:
    """A backtest as a run of the run store, what `engine backtest` and the TUI's New backtest run:
    its bars loaded and checked first (bad input leaves no run), then visible as running (with its
    progress in bars) while a model trains and it runs, then finished with its results and its
    report, or failed or interrupted."""
    from engine.report import write_tearsheet

    first = loaded(resolved, workspace)
    with workspace.runs.open("backtest", resolved.name, command) as journal:
        prepared = prepare_backtest(first, workspace, chunk_size, on_fold)
        done, total = 0, len(prepared.bars)

        def advance(bars: int) -> None:
            nonlocal done
            done += bars
            journal.progress(done, total)

        result = backtest_prepared(prepared, chunk_size, broker, advance, ablation)
        progress.stage("storing the run")
        journal.finish(backtest_records(result, workspace.data, journal.run_id, command))
    progress.stage("writing the report")
    return StoredBacktest(result, journal.run_id, write_tearsheet(workspace.runs.load(journal.run_id)))


def backtest_config(prepared: PreparedStrategy, chunk_size: int | None, broker: str) -> dict:
    """config.json: the strategy as run (thresholds calibrated), chunking, broker and annualization."""
    return {
        "strategy": prepared.strategy.model_dump(mode="json"),
        "chunk_size": chunk_size,
        "execution": broker,
        "periods_per_year": prepared.periods_per_year,
        "annualization": prepared.annualization.basis,
    }


def backtest_records(result: BacktestResult, store: DataStore, run_id: str, command: list[str]) -> RunRecords:
    execution, prepared = result.execution, result.prepared
    documents = {
        "config.json": backtest_config(prepared, result.chunk_size, result.broker),
        "metrics.json": {"strategy": result.metrics, "baselines": result.baselines, "warnings": result.warnings},
    }
    quality = result.signal_quality
    if result.fold_metrics() is not None:  # each fold with its signal quality over the traded bars
        folds = zip(result.fold_metrics(), quality.by_span(), strict=True)
        documents["folds.json"] = {"folds": [fold | ic for fold, ic in folds]}
    documents["signal_quality.json"] = quality.to_record()
    if result.ablation is not None:
        documents["ablation.json"] = {"steps": result.ablation}
    if prepared.calibration:
        documents["calibration.json"] = {"thresholds": prepared.calibration}
    if result.strategy.risk.watches_bars or result.run.risk:
        documents["risk.json"] = result.risk()
    timeframe = result.strategy.data.timeframe
    documents["manifest.json"] = {
        "run_id": run_id,
        "created_at": now(),
        "strategy": result.strategy.name,
        "command": command,
        "data": {
            "fingerprint": prepared.bars.fingerprint(),
            "timeframe": timeframe,
            "rows": len(prepared.bars),
            "traded_rows": len(result.bars),
            "series": {symbol: store.describe(symbol, timeframe).origin for symbol in result.bars.symbols},
        },
        **({"feature_inputs": inputs} if (inputs := _feature_inputs(prepared)) else {}),
        "libraries": library_versions(),
    }
    frames = {
        "equity.parquet": execution.equity_frame(),
        "trades.parquet": result.trades(),
        "orders.parquet": execution.fills,
        "baselines.parquet": pd.DataFrame({"timestamp": result.bars.index(), **result.baseline_equity}),
        "prices.parquet": WideTable(result.bars.index(), result.bars.symbols, result.bars.close),  # for the trades chart
        "signal_quality.parquet": quality.ics,  # for the rolling RankIC chart
    }
    return RunRecords(documents, frames)


def _feature_inputs(prepared) -> dict[str, str]:
    """Fingerprints of what the model's features read beyond the bars (news and its scores)."""
    model = prepared.resolved.model
    return {} if model is None else model.feature_inputs()
