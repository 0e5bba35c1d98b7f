from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.analytics.formatting import format_metric
from engine.cli.output import (
    WARNING,
    Column,
    ListJson,
    print_json_line,
    print_labelled,
    print_line,
    print_metrics,
    print_table,
    stdout,
)
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.stores.runs import RunSummary, StoredRun

app = typer.Typer(no_args_is_help=True)


RUN_COLUMNS = [
    Column("run", identifier=True),
    Column("kind", keep=4),
    Column("status", keep=8),
    Column("strategy", keep=2),  # also in the run id
    Column("created", keep=1),  # the id starts with the time too
    Column("total return", "right", keep=7, short="return"),
    Column("sharpe", "right", keep=6),
    Column("max drawdown", "right", keep=5, short="max dd"),
]


@app.command("list")
def list_(
    json: ListJson = False,
) -> None:
    """Runs in the run store, oldest first: backtests, studies and paper sessions, running ones too;
    a damaged run is listed as such, and a line on standard error says what is wrong with it."""
    runs = Workspace.from_env().runs.list()
    if json:
        print_json_line([run.to_json() for run in runs])
    else:
        print_runs(runs)
    for run in runs:
        if run.problem:
            print_labelled(WARNING, f"run {run.run_id} is damaged: {run.problem}")


def print_runs(runs: list[RunSummary]) -> None:
    rows = [
        [
            run.run_id,
            run.kind or "",
            run.status,
            run.strategy or "",
            run.created_at or "",
            format_metric("total_return", run.total_return),
            format_metric("sharpe", run.sharpe),
            format_metric("max_drawdown", run.max_drawdown),
        ]
        for run in runs
    ]
    print_table(RUN_COLUMNS, rows, more="see `engine runs show ID`")


RunArgument = Annotated[str, typer.Argument(help="Run id from `engine runs list`, a unique prefix of one, or `latest`")]


@app.command("show")
def show(reference: RunArgument) -> None:
    """A run's status; for a finished run, its metrics beside its baselines, configuration and provenance."""
    runs = Workspace.from_env().runs
    run_id = runs.resolve(reference)
    status = runs.status(run_id)
    print_line(f"{run_id}  {runs.path(run_id)}")
    if status["status"] != "finished":
        progress = status.get("progress")
        done = f", {progress['done']} of {progress['total']} done" if progress else ""
        error = f": {status['error']}" if status.get("error") else ""
        print_line(f"{status['kind']} of {status['strategy']}, {status['status']}{done}{error}")
        return
    run = runs.load(run_id)
    if run.kind == "study":
        _show_study(run.study)
    else:
        _show_backtest(run)


def _show_study(study: dict) -> None:
    trials = ", ".join(f"{count} {state}" for state, count in study.get("trials", {}).items() if count)
    print_line(f"study {study['study']} in {study['storage']}: {trials or 'no trials'}")
    print_line(f"its Pareto front and report: engine optimize show {study['study']}")


def _show_backtest(run: StoredRun) -> None:
    manifest, config, metrics = run.manifest, run.config, run.metrics
    print_line(f"strategy {manifest['strategy']}, execution {config['execution']}, chunk {config['chunk_size'] or 'all'}")
    data = manifest["data"]
    print_line(f"data {data['timeframe']} × {data['rows']} bars, fingerprint {data['fingerprint']}")
    if "annualization" in config:
        print_line(f"annualized with {config['periods_per_year']:g} bars a year ({config['annualization']})")
    print_metrics("metrics", {manifest["strategy"]: metrics["strategy"], **metrics["baselines"]})
    for warning in metrics.get("warnings", []):
        print_labelled(WARNING, warning, stdout)
    if run.risk is not None:
        from engine.kernel.risk import risk_summary

        print_line(risk_summary(run.risk))


@app.command("rm")
def rm(references: Annotated[list[str], typer.Argument(help="Run ids, unique prefixes or `latest`")]) -> None:
    """Delete runs (their folders, reports included); a running run is refused."""
    runs = Workspace.from_env().runs
    for run_id in [runs.resolve(reference) for reference in references]:  # all known before any goes
        runs.remove(run_id)
        print_line(f"removed {run_id}")
