from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.output import ALWAYS, WARNING, Column, ListJson, print_json_line, print_labelled, print_line, print_table, stderr
from engine.cli.progress_display import StageDisplay, StudyDisplay
from engine.progress import listening
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.optimize.study import OpenStudy

app = typer.Typer(no_args_is_help=False)

FAILURES_SHOWN = 5  # the latest failed trials, with their reason

StorageOption = Annotated[
    str | None, typer.Option(help="Optuna storage URL [default: a SQLite file in the run store]", show_default=False)
]


def _best_so_far(opened: OpenStudy) -> str:
    """The best of each objective among the feasible trials that traded (staying flat is no best
    drawdown; a trial short of the minimum trades is no best Sharpe), as its metric is written."""
    from engine.analytics.formatting import format_metric
    from engine.optimize.pareto import best_by_objective
    from engine.optimize.summary import completed

    done = completed(opened.study)
    if not done:
        return "no trial done yet"
    best = best_by_objective(done, opened.objectives)
    if best is None:
        return "no trial has traded within the study's limits yet"
    return "best " + ", ".join(
        f"{objective.name} {format_metric(objective.name, trial.user_attrs['evaluation']['metrics'][objective.name])}"
        for objective, trial in zip(opened.objectives, best, strict=True)
    )


PARETO_SHORT = {
    "max_drawdown": "max dd",
    "total_return": "return",
    "holdout sharpe": "h. sharpe",
    "holdout max_drawdown": "h. max dd",
    "holdout total_return": "h. return",
    "holdout trades": "h. trades",
    "deflated sharpe": "defl. sharpe",
}
PARETO_KEEP = {"trades": 2, "turnover": 1, "total_return": 3, "holdout trades": 4, "holdout total_return": 5, "parameters": 0}


def _print_study_table(title: str, table, more: str | None = None) -> None:
    """An HTML-report table (`engine.report.render.Table`) on the terminal: the first column (the
    trial, the parameter) and the objectives stay; other columns make room by PARETO_KEEP."""
    columns = [
        Column(
            name,
            "left" if index == 0 or name == "parameters" else "right",
            keep=PARETO_KEEP.get(name, 10),
            short=PARETO_SHORT.get(name),
            identifier=index == 0,
        )
        for index, name in enumerate(table.columns)
    ]
    print_table(columns, table.rows, title=title, more=more)


def _finish(opened: OpenStudy, evaluate: bool) -> None:
    """Holdout evaluation of the Pareto members (unless interrupted), the tables, warnings, the HTML report."""
    from engine.optimize.outcome import conclude
    from engine.optimize.report import importance_table
    from engine.optimize.summary import counts, failed

    with StageDisplay() as display, listening(display):  # one stage for the holdout, not each member's
        outcome = conclude(opened, evaluate)
    tally = counts(opened.study)
    print_line(
        f"study {opened.study.study_name}: {tally['complete']} complete, {tally['pruned']} pruned, "
        f"{tally['fail']} failed, {tally['running']} running"
    )
    for trial in failed(opened.study)[-FAILURES_SHOWN:]:
        reason = trial.user_attrs.get("error", "interrupted, or its worker stopped")
        print_line(f"trial {trial.number} failed: {reason}")
    _print_study_table("Pareto front (validation; holdout once each)", outcome.pareto(), more="the report (below) has them all")
    importance = importance_table(opened.study)
    if importance is not None:
        _print_study_table("parameter importances", importance)
    for warning in outcome.warnings:
        print_labelled(WARNING, warning)
    print_line(f"report: {outcome.report}")


@app.callback(invoke_without_command=True)
def optimize(
    context: typer.Context,
    strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Strategy name or .toml path")] = None,
    trials: Annotated[
        int | None,
        typer.Option(min=1, help="The study's target total of finished trials, not a number to add: resuming runs the rest"),
    ] = None,
    objectives: Annotated[str, typer.Option(help="sharpe, sortino, calmar, max_drawdown, rank_ic; comma-separated")] = (
        "sharpe,max_drawdown"
    ),
    sampler: Annotated[
        str | None, typer.Option(help="nsga2, tpe or random [default: nsga2 for several objectives, tpe for one]")
    ] = None,
    storage: StorageOption = None,
    study: Annotated[str | None, typer.Option(help="Study name [default: the strategy's name]")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes on this machine")] = 1,
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop starting trials after this many seconds")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampler seed (worker k uses seed + k)")] = None,
    space: Annotated[
        str | None, typer.Option(help="Replaces the strategy's \\[optimize] table: NAME in configs/search/, or a file")
    ] = None,
    heartbeat: Annotated[int, typer.Option(min=1, help="Seconds between worker heartbeats; 3 missed fail a trial")] = 10,
) -> None:
    """Tune a strategy with Optuna against Sharpe and drawdown; `optimize show` and `optimize export` read the result."""
    if context.invoked_subcommand is not None:
        return
    if strategy is None or trials is None:
        raise typer.BadParameter("engine optimize needs --strategy and --trials", param_hint="--strategy/--trials")
    from engine.optimize.space import find_space_file
    from engine.optimize.study import StudySettings, finished, open_study, run_study, study_record
    from engine.stores.runs import RunRecords

    workspace = Workspace.from_env()
    settings = StudySettings(
        strategy=strategy,
        trials=trials,
        objectives=objectives,
        sampler=sampler,
        storage=storage,
        study=study,
        workers=workers,
        timeout=timeout,
        seed=seed,
        space_file=str(find_space_file(space, workspace)) if space else None,
        heartbeat=heartbeat,
        home=str(workspace.root),
    )
    opened = open_study(settings)  # bad settings fail here, before any worker starts
    done = finished(opened.study)
    if done:
        more = f"{trials - done} more to run" if done < trials else "no more to run"
        print_line(f"study {opened.study.study_name} has {done} finished trials; --trials {trials} is its target total: {more}")
    display = StudyDisplay(f"study {opened.study.study_name}", trials, done)
    with workspace.runs.open("study", opened.strategy.name, sys.argv) as journal, display, listening(display):

        def on_progress(study) -> None:
            done = finished(study)
            display.trials(done, _best_so_far(opened))
            journal.progress(min(done, trials), trials)

        on_progress(opened.study)
        try:
            run_study(settings, on_progress)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the study is consistent; let the summary print
            display.bar.stop()
            journal.interrupt()
            stderr.print("[yellow]interrupted:[/] the running trial failed or finished; the study is saved and resumes next time")
            _finish(opened, evaluate=False)
            raise typer.Exit(130) from None
        on_progress(opened.study)
        display.bar.stop()
        _finish(opened, evaluate=True)
        journal.finish(RunRecords({"study.json": study_record(opened)}))


STUDY_COLUMNS = [
    Column("study", identifier=True),
    Column("strategy", keep=ALWAYS),
    Column("objectives", keep=1),
    Column("finished", "right", keep=3, short="done"),
    Column("trials", "right", keep=2),
    Column("started", keep=0),
]


@app.command("list")
def list_(
    storage: StorageOption = None,
    json: ListJson = False,
) -> None:
    """The studies in the storage: strategy, objectives, trials finished of those begun, start."""
    from engine.optimize.storage import list_studies

    studies = list_studies(storage, Workspace.from_env())
    if json:
        print_json_line(studies)
        return
    rows = [
        [
            study["study"],
            study["strategy"],
            ", ".join(study["objectives"]),
            str(study["finished"]),
            str(study["trials"]),
            study["started"],
        ]
        for study in studies
    ]
    print_table(STUDY_COLUMNS, rows)


@app.command("show")
def show(study: Annotated[str, typer.Argument(help="Study name")], storage: StorageOption = None) -> None:
    """The Pareto front with holdout results and deflated Sharpe, parameter importances, and the HTML report."""
    from engine.optimize.storage import DEFAULT_HEARTBEAT
    from engine.optimize.study import fail_stale_trials, load_study

    workspace = Workspace.from_env()
    opened = load_study(study, storage, workspace)
    fail_stale_trials(opened.study, DEFAULT_HEARTBEAT)
    _finish(opened, evaluate=True)


@app.command("export")
def export(
    study: Annotated[str, typer.Argument(help="Study name")],
    trial: Annotated[int, typer.Option("--trial", help="Trial number")],
    name: Annotated[str, typer.Option("--as", help="Name of the new strategy (strategies/NAME.toml)")],
    storage: StorageOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing strategy file")] = False,
) -> None:
    """Write a trial's parameters as a strategy file that `engine backtest --strategy NAME` runs."""
    from engine.optimize.export import export_trial
    from engine.optimize.study import load_study

    workspace = Workspace.from_env()
    opened = load_study(study, storage, workspace)
    path = export_trial(opened, trial, name, workspace.strategies, overwrite=force)
    print_line(f"trial {trial} written to {path}")
    print_line(f"validation period: engine backtest --strategy {name} --end {opened.split.validation_end}")
