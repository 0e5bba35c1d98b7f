from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engine.cli.output import metrics_table, stdout
from engine.formatting import format_metric
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """Runs in the run store, oldest first."""
    table = Table("run", "strategy", "created", "total return", "sharpe", "max drawdown")
    for run in Workspace.from_env().runs.list():
        table.add_row(
            run.run_id,
            run.strategy,
            run.created_at,
            format_metric("total_return", run.total_return),
            format_metric("sharpe", run.sharpe),
            format_metric("max_drawdown", run.max_drawdown),
        )
    stdout.print(table)


@app.command("show")
def show(run_id: Annotated[str, typer.Argument(help="Run id from `engine runs list`")]) -> None:
    """A run's metrics beside its baselines, its configuration and its provenance."""
    runs = Workspace.from_env().runs
    manifest = runs.read(run_id, "manifest.json")
    config = runs.read(run_id, "config.json")
    metrics = runs.read(run_id, "metrics.json")
    stdout.print(f"[bold]{run_id}[/]  {runs.path(run_id)}")
    stdout.print(f"strategy {manifest['strategy']}, execution {config['execution']}, chunk {config['chunk_size'] or 'all'}")
    data = manifest["data"]
    stdout.print(f"data {data['timeframe']} × {data['rows']} bars, fingerprint {data['fingerprint'][:16]}…")
    stdout.print(metrics_table("metrics", {manifest["strategy"]: metrics["strategy"], **metrics["baselines"]}))
