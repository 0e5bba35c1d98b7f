from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.output import Column, ListJson, print_json_line, print_line, print_metrics, print_table, stdout
from engine.formatting import format_metric
from engine.workspace import Workspace

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
    """Runs in the run store, oldest first: backtests, studies and paper sessions, running ones too."""
    runs = Workspace.from_env().runs.list()
    if json:
        print_json_line([run.to_json() for run in runs])
        return
    rows = [
        [
            run.run_id,
            run.kind,
            run.status,
            run.strategy,
            run.created_at,
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
        stdout.print(f"{status['kind']} of {status['strategy']}, {status['status']}{done}{error}", highlight=False)
        return
    manifest = runs.read(run_id, "manifest.json")
    config = runs.read(run_id, "config.json")
    metrics = runs.read(run_id, "metrics.json")
    stdout.print(f"strategy {manifest['strategy']}, execution {config['execution']}, chunk {config['chunk_size'] or 'all'}")
    data = manifest["data"]
    print_line(f"data {data['timeframe']} × {data['rows']} bars, fingerprint {data['fingerprint']}")
    if "annualization" in config:
        stdout.print(f"annualized with {config['periods_per_year']:g} bars a year ({config['annualization']})", highlight=False)
    print_metrics("metrics", {manifest["strategy"]: metrics["strategy"], **metrics["baselines"]})
    for warning in metrics.get("warnings", []):
        stdout.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


@app.command("rm")
def rm(references: Annotated[list[str], typer.Argument(help="Run ids, unique prefixes or `latest`")]) -> None:
    """Delete runs (their folders, reports included); a running run is refused."""
    runs = Workspace.from_env().runs
    for run_id in [runs.resolve(reference) for reference in references]:  # all known before any goes
        runs.remove(run_id)
        stdout.print(f"removed {run_id}", highlight=False)
