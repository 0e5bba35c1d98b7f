from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.analytics.formatting import format_metric
from engine.cli.output import ALWAYS, WARNING, Column, print_labelled, print_line, print_table
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


SUMMARY_COLUMNS = [
    Column("run", identifier=True),
    Column("strategy", keep=ALWAYS),
    Column("period", keep=1),
    Column("gross return", "right", keep=5, short="gross"),
    Column("net return", "right", keep=ALWAYS, short="net"),
    Column("sharpe", "right", keep=ALWAYS),
    Column("RankIC", "right", keep=4),
    Column("max drawdown", "right", keep=3, short="max dd"),
    Column("trades", "right", keep=2),
]


def print_summary(runs: list[StoredRun]) -> None:
    """The compared runs' headline figures, one row each, and buy-and-hold's over the same periods."""
    from engine.report.compare import SUMMARY, summary_rows

    rows = [[run_id, strategy, span, *(format_metric(name, figures.get(name)) for name in SUMMARY)]
            for run_id, strategy, span, figures in summary_rows(runs)]  # fmt: skip
    print_table(
        SUMMARY_COLUMNS, rows, title="the runs compared, net of costs but the gross return", more="see the comparison's HTML"
    )


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
    if compare:
        print_summary(stored)
    for what, path in written:
        print_line(f"{what} written to {path}")
    if compare and (warning := period_warning(stored)):
        print_labelled(WARNING, warning)
