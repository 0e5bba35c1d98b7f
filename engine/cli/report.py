from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.output import stderr, stdout
from engine.workspace import Workspace


def report(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids from `engine runs list`")],
    compare: Annotated[bool, typer.Option("--compare", help="One HTML page with all the runs side by side")] = False,
) -> None:
    """Write a run's tearsheet (HTML, markdown, PNG charts) into its run folder, or compare runs."""
    from engine.report import write_comparison, write_tearsheet
    from engine.report.compare import period_warning

    if compare and len(run_ids) < 2:
        raise typer.BadParameter("--compare needs at least two run ids", param_hint="RUN_IDS")
    runs = Workspace.from_env().runs
    stored = [runs.load(run_id) for run_id in run_ids]
    if compare:
        stdout.print(f"comparison written to {write_comparison(stored, runs.root)}")
        if warning := period_warning(stored):
            stderr.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
        return
    for run in stored:
        stdout.print(f"report written to {write_tearsheet(run)}")
