from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from engine.cli.output import (
    WARNING,
    print_ablation,
    print_json_line,
    print_labelled,
    print_line,
    print_metrics,
    stderr,
    stdout,
)
from engine.cli.progress_display import StageDisplay
from engine.errors import UserError
from engine.progress import listening
from engine.strategies.resolution import strategy_with_overrides
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.models.walkforward import TrainedFold

# Commands import the backtesting stack (vectorbt, torch) when they run, so that light commands
# such as `engine data list` start quickly.

STRATEGY_HELP = "Strategy name (in strategies/) or path to a .toml"
StrategyOption = Annotated[str, typer.Option("--strategy", "-s", help=STRATEGY_HELP)]


def symbol_list(value: str | None) -> list[str] | None:
    """--symbols SP500,NASDAQ: one or more, none of them empty."""
    if value is None:
        return None
    symbols = [symbol.strip() for symbol in value.split(",")]
    if not all(symbols):
        raise UserError(f"--symbols {value!r}: give one or more symbols separated by commas, like SP500,NASDAQ")
    return symbols


SymbolsOption = Annotated[
    str | None, typer.Option(callback=symbol_list, help="Comma-separated symbols, replacing the strategy's")
]
TimeframeOption = Annotated[str | None, typer.Option(help="Bar timeframe, replacing the strategy's (1d, 1h, …)")]
DateOption = Annotated[str | None, typer.Option(help="YYYY-MM-DD (inclusive)")]
KillSwitchOption = Annotated[
    str,
    typer.Option(
        "--kill-switch",
        help="Risk limits in place of the strategy's risk table: daily_loss=0.02,order_notional=50000,"
        "orders_per_minute=60,difference=0.01,position_cap=0.5,gross_exposure=1",
    ),
]


def report_fold(trained: TrainedFold) -> None:
    """One line per walk-forward fold (per symbol's fold, for an individual-scope model) on standard error."""
    metrics, how = trained.metrics, "reused" if trained.reused else "trained"
    auc = metrics.get("roc_auc")
    fold = f"fold {trained.fold.index}" if trained.symbol is None else f"fold {trained.fold.index} of {trained.symbol}"
    stderr.print(f"{fold}: {how}, out-of-sample ROC-AUC {auc:.3f}" if auc is not None else f"{fold}: {how}", highlight=False)


def backtest(
    strategy: StrategyOption,
    symbols: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: DateOption = None,
    end: DateOption = None,
    commission_bps: Annotated[float | None, typer.Option(help="Commission per side, in basis points of notional")] = None,
    slippage_bps: Annotated[float | None, typer.Option(help="Slippage per side, in basis points of the open")] = None,
    chunk: Annotated[int | None, typer.Option(min=1, help="Bars per chunk (default: the whole history at once)")] = None,
    size_at: Annotated[
        str | None,
        typer.Option(help="Size targets at the fill's open, or at the decision's close as a paper session does: open or close"),
    ] = None,
    execution: Annotated[
        str,
        typer.Option(help="Broker: vectorized (one vectorbt simulation), replay (the event-driven sim broker) or a plugin's"),
    ] = "vectorized",
    ablation: Annotated[bool, typer.Option("--ablation", help="Also run the overlay chain step by step")] = False,
    kill_switch: KillSwitchOption = "",
    sentiment_model: Annotated[
        str | None,
        typer.Option(help="Whose news scores the sentiment feature reads: a model as `engine news score --model` named it"),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="End standard output with one JSON line: run_id, run_dir, metrics")
    ] = False,
) -> None:
    """Backtest a strategy on stored data and store the run; metrics are shown beside buy-and-hold."""
    with StageDisplay() as display, listening(display):
        display.stage("loading the backtesting libraries")
        from engine.kernel.node import broker_of
        from engine.kernel.risk import parse_kill_switch, risk_summary
        from engine.usecases.backtest_run import journaled_backtest

        limits = parse_kill_switch(kill_switch)
        workspace = Workspace.from_env()
        resolved = strategy_with_overrides(
            strategy, workspace, symbols, timeframe, start, end, commission_bps, slippage_bps, size_at, limits, sentiment_model
        )
        config = resolved.strategy
        broker = broker_of(execution)
        stored = journaled_backtest(resolved, workspace, sys.argv, chunk, broker, on_fold=report_fold, ablation=ablation)
    result, run_id, report = stored.result, stored.run_id, stored.report
    run_dir = workspace.runs.path(run_id)
    for warning in result.warnings:
        print_labelled(WARNING, warning)
    risk = result.risk()
    if json:
        payload = {
            "run_id": run_id,
            "run_dir": str(run_dir),
            "report": str(report),
            "metrics": result.metrics,
            "baselines": result.baselines,
            "warnings": result.warnings,
            "risk": risk,
        }
        print_json_line(payload | ({"ablation": result.ablation} if ablation else {}))
        return
    period = f"{result.metrics['start'][:10]} to {result.metrics['end'][:10]}"
    print_metrics(
        f"{config.name} on {', '.join(config.data.symbols)} ({config.data.timeframe}, {period}), "
        f"{config.costs.commission_bps:g} bps commission + {config.costs.slippage_bps:g} bps slippage; "
        f"annualized with {result.prepared.annualization.describe()}",
        {config.name: result.metrics, **result.baselines},
    )
    if result.ablation is not None:
        print_ablation(result.ablation)
    if risk["halted"] is not None or risk["capped_orders"]:
        print_line(risk_summary(risk))
    print_line(f"run {run_id} stored in {run_dir}")
    print_line(f"report: {report}")


def _chunk_sizes(value: str | None) -> tuple[int, ...] | None:
    """--chunks 1,7,30: positive whole numbers, comma-separated."""
    if value is None:
        return None
    try:
        sizes = tuple(int(size) for size in value.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise UserError(f"--chunks {value}: give positive whole numbers separated by commas, like 1,7")
    return sizes


def check(
    strategy: StrategyOption,
    symbols: SymbolsOption = None,
    timeframe: TimeframeOption = None,
    start: DateOption = None,
    end: DateOption = None,
    chunks: Annotated[
        str | None, typer.Option(callback=_chunk_sizes, help="Chunk sizes to compare with the whole history [default: 1,7]")
    ] = None,
) -> None:
    """Chunk-invariance (lookahead) check: every stage must give the same output at every chunk size."""
    with StageDisplay() as display, listening(display):
        display.stage("loading the backtesting libraries")
        from engine.usecases.backtest import prepare
        from engine.usecases.check import DEFAULT_CHUNK_SIZES, check_chunk_invariance

        workspace = Workspace.from_env()
        resolved = strategy_with_overrides(strategy, workspace, symbols, timeframe, start, end)
        config = resolved.strategy
        prepared = prepare(resolved, workspace, on_fold=report_fold)
        bars = prepared.bars
        chunk_sizes = DEFAULT_CHUNK_SIZES if chunks is None else chunks
        display.stage(
            f"{config.name}: checking at chunk sizes {', '.join(map(str, chunk_sizes))} and all",
            len(bars) * (len(chunk_sizes) + 1),
            "bar",
        )
        report = check_chunk_invariance(prepared, chunk_sizes, display.advance)
    for difference in report.differences:
        verdict = (
            "[green]same[/]"
            if not difference.moved
            else (
                f"[red]MOVED[/] first at {difference.first_timestamp}"
                + (f" ({escape(difference.first_symbol)})" if difference.first_symbol else "")
            )
        )
        stdout.print(
            f"chunk {difference.chunk_size:>4}  {difference.output:<40} {verdict}  max |Δ| {difference.max_difference:.3g}"
        )
    if report.passed:
        sizes = ", ".join(map(str, chunk_sizes))
        stdout.print(f"[green]{escape(config.name)} is chunk-invariant at chunk sizes {sizes} and all[/]")
        return
    moving = report.moving_stages
    culprit = moving[0] if moving else "execution"
    stdout.print(
        f"[red]{escape(culprit)} gives different output at different chunk sizes: "
        "it looks ahead or depends on where a chunk starts[/]"
    )
    raise typer.Exit(1)
