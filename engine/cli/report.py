from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.output import WARNING, print_labelled, print_line
from engine.cli.progress_display import StageDisplay
from engine.errors import UserError
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.stores.runs import StoredRun


def backtest_run(run: StoredRun) -> StoredRun:
    """A tearsheet is a backtest's; a study's report is written by `engine optimize show`."""
    if run.kind != "backtest":
        where = f"`engine optimize show {run.study['study']}` writes its report" if run.kind == "study" else "it has no tearsheet"
        raise UserError(f"run {run.run_id} is a {run.kind}: {where}")
    return run


def report(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids from `engine runs list`, unique prefixes or `latest`")],
    compare: Annotated[bool, typer.Option("--compare", help="One HTML page with all the runs side by side")] = False,
) -> None:
    """Write a run's tearsheet (HTML, markdown, PNG charts) into its run folder, or compare runs."""
    if compare and len(run_ids) < 2:
        raise typer.BadParameter("--compare needs at least two run ids", param_hint="RUN_IDS")
    with StageDisplay() as display:
        display.stage("loading the report libraries")
        from engine.report import write_comparison, write_tearsheet
        from engine.report.compare import period_warning

        runs = Workspace.from_env().runs
        stored = [backtest_run(runs.load(run_id, kind="backtest")) for run_id in run_ids]
        named_twice = {run.run_id for run in stored if [other.run_id for other in stored].count(run.run_id) > 1}
        if compare and named_twice:
            raise UserError(f"--compare: run {', '.join(sorted(named_twice))} is named twice; compare different runs")
        if compare:
            display.stage(f"writing the comparison of {len(stored)} runs")
            written = [("comparison", write_comparison(stored, runs.root))]
        else:
            written = []
            for position, run in enumerate(stored, 1):
                display.stage(f"writing the report of {run.run_id} ({position} of {len(stored)})")
                written.append(("report", write_tearsheet(run)))
    for what, path in written:
        print_line(f"{what} written to {path}")
    if compare and (warning := period_warning(stored)):
        print_labelled(WARNING, warning)
