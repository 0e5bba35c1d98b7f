"""The Textual app: the Runs screen first; Data (`d`), New backtest (`n`), Studies (`t`), a run's detail or a paper
session's live view (Enter) and a comparison (`c`) on top of it; the command palette (ctrl+p) reaches every screen; `q`
quits."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from engine.errors import UserError
from engine.tui.live import failure_line
from engine.tui.runs import RunsScreen
from engine.workspace import Workspace

# The other screens are imported when first opened: between them they import vectorbt, scipy and
# optuna, seconds before the first frame that the Runs screen needs none of.


class EngineApp(App):
    TITLE = "engine"
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, workspace: Workspace, storage: str | None = None) -> None:
        """`storage`: the Optuna storage URL of the Studies screen (default: the run store's SQLite file)."""
        super().__init__()
        self.workspace, self.storage = workspace, storage

    def on_mount(self) -> None:
        self.sub_title = str(self.workspace.root)
        self.push_screen(RunsScreen(self.workspace.runs))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Data", "The stored bar series and their prices", self.action_data)
        yield SystemCommand("Runs", "Every run of the workspace", self.action_runs)
        yield SystemCommand("New backtest", "Pick a strategy and backtest it", self.action_new_backtest)
        yield SystemCommand("Studies", "Optuna studies: trials, the Pareto front, workers", self.action_studies)

    def action_data(self) -> None:
        from engine.tui.data import DataScreen

        self.push_screen(DataScreen(self.workspace))

    def action_new_backtest(self) -> None:
        from engine.tui.new_backtest import NewBacktestScreen

        self.push_screen(NewBacktestScreen(self.workspace))

    def action_studies(self) -> None:
        from engine.tui.studies import StudiesScreen

        self.push_screen(StudiesScreen(self.workspace, self.storage))

    def action_runs(self) -> None:
        while not isinstance(self.screen, RunsScreen):
            self.pop_screen()

    def open_run(self, run_id: str, details: bool = False) -> None:
        """A paper session opens on its live view (`details`: on its results); any other run on its results."""
        from engine.tui.paper import PaperScreen
        from engine.tui.run_detail import RunDetailScreen

        try:
            if self.workspace.runs.summary(run_id).kind == "paper" and not details:
                self.push_screen(PaperScreen(self.workspace.runs, run_id))
                return
            run = self.workspace.runs.load(run_id)
        except (UserError, OSError) as error:  # running, failed, damaged or unreadable: nothing to show in detail
            self.notify(failure_line(error), severity="warning")
            return
        self.push_screen(RunDetailScreen(run))

    def compare_runs(self, run_ids: list[str]) -> None:
        from engine.tui.compare import CompareScreen

        self.push_screen(CompareScreen([self.workspace.runs.load(run_id) for run_id in run_ids]))
