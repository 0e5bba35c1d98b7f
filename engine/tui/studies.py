"""Studies: every Optuna study in the workspace's storage, refreshed while workers run; for the
highlighted one, its trials done against the target of its running `engine optimize` (with an
ETA), each objective's best value, the Pareto front as a scatter of its first two objectives over
every trial, and its trial table with the Pareto members' holdout values and deflated Sharpe. `a`
starts a study and `r` resumes the highlighted one up to a new target: each runs `engine optimize`
in the background, as typed in a terminal (its output goes to `runs/.optimize-<study>.log`; one that
fails shows its error). `x` stops the study's running workers (as Ctrl-C does) after a
confirmation; Esc goes back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import optuna
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static
from textual_plotext import PlotextPlot

from engine.analytics.formatting import format_metric
from engine.optimize.evaluation import OBJECTIVES, Objective
from engine.optimize.holdout import deflated_sharpes
from engine.optimize.pareto import best_by_objective, pareto_front
from engine.optimize.report import parameter_lines
from engine.optimize.storage import (
    STORAGE_ERRORS,
    STORAGE_FILE,
    default_storage,
    open_storage,
    safe_url,
    storage_failure,
    summarize_studies,
)
from engine.strategies.files import strategy_entries
from engine.tui.confirm import Confirm
from engine.tui.live import LiveScreen
from engine.workspace import Workspace

STUDY_COLUMNS = ("study", "strategy", "objectives", "finished", "trials", "started")
TRIAL_COLUMNS = ("trial", "state", "values", "holdout", "deflated sharpe", "parameters")


class StudiesScreen(LiveScreen):
    REFRESH_SECONDS = 2.0
    READ_ERRORS = (*LiveScreen.READ_ERRORS, *STORAGE_ERRORS)
    DEFAULT_CSS = """
    #studies { height: auto; max-height: 8; }
    #progress { height: auto; padding: 0 1; }
    #exits { height: auto; padding: 0 1; color: $error; }
    /* The front keeps room for its axes at 80x24: below about 10 lines plotext collapses them. */
    #front { height: 2fr; min-height: 12; }
    #trials { height: 1fr; min-height: 4; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "start", "Start", tooltip="Start a study"),
        Binding("r", "resume", "Resume"),
        Binding("x", "stop", "Stop", tooltip="Stop the study's running workers"),
    ]

    def __init__(self, workspace: Workspace, storage: str | None = None) -> None:
        """`storage`: an Optuna storage URL, as `engine optimize --storage` takes (default: the run store's SQLite file)."""
        super().__init__()
        self.workspace, self.storage = workspace, storage
        self.storage_url = storage or default_storage(workspace)
        self.studies: list[dict] = []
        self._opened_storage: optuna.storages.RDBStorage | None = None
        self._started: list[tuple[subprocess.Popen, Path]] = []  # this screen's `engine optimize`s and their logs

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="studies", cursor_type="row")
        yield Static(id="progress")
        yield Static(id="exits")
        yield PlotextPlot(id="front")
        yield DataTable(id="trials", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        where = f"runs/{STORAGE_FILE}" if self.storage is None else safe_url(self.storage)
        self.title = "Studies"
        self.describe(f"in {where}")
        self.query_one("#studies", DataTable).add_columns(*STUDY_COLUMNS)
        self.query_one("#trials", DataTable).add_columns(*TRIAL_COLUMNS)
        self.start_refreshing()

    def refresh_live(self) -> None:
        self._check_started()
        table = self.query_one("#studies", DataTable)
        row = table.cursor_row
        # Opening the run store's storage before a study exists would create it empty.
        stored = self.storage is not None or (self.workspace.runs.root / STORAGE_FILE).exists()
        self.studies = summarize_studies(self._opened()) if stored else []
        with self.prevent(DataTable.RowHighlighted):  # refilled, not moved: shown once, below
            table.clear()
            for study in self.studies:
                cells = (study[column] for column in STUDY_COLUMNS)
                table.add_row(*(", ".join(value) if isinstance(value, list) else str(value) for value in cells))
            if self.studies:
                table.move_cursor(row=min(row, len(self.studies) - 1))
        self._show()

    def unreadable(self, error: Exception) -> str:
        if isinstance(error, STORAGE_ERRORS):
            return str(storage_failure("read", self.storage_url, error))
        return super().unreadable(error)

    def _opened(self) -> optuna.storages.RDBStorage:
        if self._opened_storage is None:  # opened once: the screen reads it every REFRESH_SECONDS
            self._opened_storage = open_storage(self.storage_url, heartbeat=10)
        return self._opened_storage

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "studies":
            self.read_safely(self._show)

    @property
    def highlighted(self) -> dict | None:
        row = self.query_one("#studies", DataTable).cursor_row
        return self.studies[row] if 0 <= row < len(self.studies) else None

    def _show(self) -> None:
        chosen = self.highlighted
        trials_table, plot = self.query_one("#trials", DataTable), self.query_one("#front", PlotextPlot)
        trials_table.clear()
        plot.plt.clear_data()
        plot.plt.clear_figure()
        if chosen is None:
            self.query_one("#progress", Static).update("no study yet: `engine optimize --strategy NAME --trials N` starts one")
            plot.refresh()
            return
        study = optuna.load_study(study_name=chosen["study"], storage=self._opened())
        trials = study.get_trials(deepcopy=False)
        holdout = study.user_attrs.get("holdout", {})
        objectives = [OBJECTIVES[name] for name in chosen["objectives"]]
        # Read after `trials`: a trial running there may be on the front here, finished since.
        front = pareto_front(study).trials
        deflated = deflated_sharpes(study, front)
        self.query_one("#progress", Static).update(f"{self._progress(chosen, trials)}\n{_best(trials, objectives)}")
        for trial in trials:
            values = "" if trial.values is None else ", ".join(f"{value:.4g}" for value in trial.values)
            held = _held_out(holdout.get(str(trial.number)), objectives)
            dsr = format_metric("deflated_sharpe", deflated[trial.number]) if trial.number in deflated else ""
            tuned = parameter_lines(trial.user_attrs.get("parameters", trial.params)).replace("\n", "; ")
            trials_table.add_row(str(trial.number), trial.state.name.lower(), values, held, dsr, tuned)
        self._front(plot, trials, {trial.number for trial in front}, chosen["objectives"])

    def _check_started(self) -> None:
        """An `engine optimize` this screen started that failed says so, with its error line, until
        the next one starts; one that finished or was stopped (Ctrl-C: 130) shows in its study."""
        for process, log in [started for started in self._started if started[0].poll() is not None]:
            self._started.remove((process, log))
            if process.returncode not in (0, 130):
                lines = log.read_text(errors="replace").strip().splitlines() or ["(no output)"]
                failure = f"engine optimize exited {process.returncode}: {lines[-1]} (output in {log})"
                self.query_one("#exits", Static).update(failure)
                self.notify(failure, severity="error")

    def _progress(self, chosen: dict, trials: list[optuna.trial.FrozenTrial]) -> str:
        """Trials done against the target of the study's running `engine optimize`, with an ETA at the
        pace of the trials it has finished so far."""
        running = self._running_run(chosen["strategy"])
        done = chosen["finished"]
        if running is None or not running.get("progress"):
            return f"{done} trials finished of {chosen['trials']} begun; no worker running"
        target = running["progress"]["total"]
        started = datetime.fromisoformat(running["created_at"])
        ours = [trial for trial in trials if trial.datetime_complete and trial.datetime_complete.astimezone(UTC) >= started]
        elapsed = (datetime.now(UTC) - started).total_seconds()
        eta = f"{elapsed / len(ours) * max(target - done, 0):.0f} s" if ours else "after its first trial"
        return f"{done} of {target} trials finished, workers running (pid {running['pid']}); ETA {eta}"

    def _running_run(self, strategy: str | None) -> dict | None:
        runs = self.workspace.runs
        for summary in reversed(runs.list()):
            if summary.kind == "study" and summary.status == "running" and summary.strategy == strategy:
                return runs.status(summary.run_id)
        return None

    def _front(self, plot: PlotextPlot, trials: list[optuna.trial.FrozenTrial], front: set[int], objectives: list[str]) -> None:
        complete = [trial for trial in trials if trial.values is not None]
        if len(objectives) < 2 or not complete:
            plot.plt.title("the Pareto front needs two objectives and a finished trial")
            plot.refresh()
            return
        others = [trial for trial in complete if trial.number not in front]
        best = [trial for trial in complete if trial.number in front]
        # Markers named in the title: plotext's legend sits inside the plot, over the points there.
        plot.plt.title(f"{objectives[1]} against {objectives[0]}: x on the Pareto front, • the other trials")
        if others:
            plot.plt.scatter([t.values[0] for t in others], [t.values[1] for t in others], marker="•")
        if best:
            plot.plt.scatter([t.values[0] for t in best], [t.values[1] for t in best], marker="x")
        plot.plt.xlabel(objectives[0])
        plot.plt.ylabel(objectives[1])
        plot.refresh()

    def action_stop(self) -> None:
        chosen = self.highlighted
        running = None if chosen is None else self._running_run(chosen["strategy"])
        if running is None:
            self.notify("no running `engine optimize` for this study", severity="warning")
            return
        if running.get("host") != socket.gethostname():
            self.notify(f"its workers run on {running.get('host')}: stop them there", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                os.kill(running["pid"], signal.SIGINT)  # what Ctrl-C does: trials in flight fail, the study is kept
                self.notify(f"sent Ctrl-C to engine optimize (pid {running['pid']})")

        self.app.push_screen(Confirm(f"Stop the workers of study {chosen['study']} (pid {running['pid']})?"), answered)

    def action_start(self) -> None:
        strategies = [entry.name for entry in strategy_entries(self.workspace)]
        self.app.push_screen(StudyRequest(strategies, None, 20), self._optimize)

    def action_resume(self) -> None:
        chosen = self.highlighted
        if chosen is None:
            self.notify("no study to resume", severity="warning")
            return
        request = StudyRequest([chosen["strategy"]], chosen["study"], chosen["finished"] + 10)
        self.app.push_screen(request, lambda answer: self._optimize(answer, chosen.get("space_file")))

    def _optimize(self, request: tuple[str, str | None, int] | None, space_file: str | None = None) -> None:
        """`engine optimize` for the request (with the `--space` a resumed study was made with), in the
        background, its output in a log in the run store."""
        if request is None:
            return
        strategy, study, trials = request
        command = [sys.executable, "-m", "engine", "optimize", "--strategy", strategy, "--trials", str(trials)]
        command += [] if study is None else ["--study", study]
        command += [] if space_file is None else ["--space", space_file]
        command += [] if self.storage is None else ["--storage", self.storage]
        log = self.workspace.runs.root / f".optimize-{study or strategy}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as output:
            environment = {**os.environ, "ENGINE_HOME": str(self.workspace.root)}
            process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        self._started.append((process, log))
        self.query_one("#exits", Static).update("")
        self.notify(f"started: engine optimize --strategy {strategy} --trials {trials} (output in {log})")


def _best(trials: list[optuna.trial.FrozenTrial], objectives: list[Objective]) -> str:
    """Each objective's best value among the feasible finished trials that traded, as its metric is
    written, and the trial that reached it."""
    best = best_by_objective(trials, objectives)
    if best is None:
        return "best: no trial has traded within the study's limits yet"
    return "best: " + ", ".join(
        f"{objective.name} {format_metric(objective.name, trial.user_attrs['evaluation']['metrics'][objective.name])} "
        f"(trial {trial.number})"
        for objective, trial in zip(objectives, best, strict=True)
    )


def _held_out(figures: dict | None, objectives: list[Objective]) -> str:
    """A trial's holdout objective values, in the order of its validation values (Pareto members
    only: the others were not run on the holdout)."""
    if not figures:
        return ""
    if "error" in figures:
        return figures["error"]
    return ", ".join(f"{objective.value(figures):.4g}" for objective in objectives)


class StudyRequest(ModalScreen[tuple[str, str | None, int] | None]):
    """Which strategy to tune (a study to resume names its own) and the target total of trials."""

    DEFAULT_CSS = """
    StudyRequest { align: center middle; }
    StudyRequest > Vertical { width: 70; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, strategies: list[str], study: str | None, trials: int) -> None:
        super().__init__()
        self.strategies, self.study, self.trials = strategies, study, trials

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"resume study {self.study}" if self.study else "start a study")
            yield Select([(name, name) for name in self.strategies], value=self.strategies[0], id="strategy", allow_blank=False)
            yield Label("target total of finished trials")
            yield Input(str(self.trials), id="trials", type="integer")
            yield Button("Run engine optimize", id="go", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        trials = self.query_one("#trials", Input).value.strip()
        if not trials.isdigit() or int(trials) < 1:
            self.notify("the target is a whole number of trials, 1 or more", severity="error")
            return
        self.dismiss((str(self.query_one("#strategy", Select).value), self.study, int(trials)))

    def action_cancel(self) -> None:
        self.dismiss(None)
