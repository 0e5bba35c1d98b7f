"""New backtest: pick a strategy (and, if wanted, other symbols, a period, costs), run it (the button,
or Enter in any box) in a background worker with its progress shown, and land on the run's detail.
Esc goes back."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Select

from engine.errors import UserError
from engine.progress import listening
from engine.strategies.files import strategy_entries
from engine.strategies.resolution import strategy_with_overrides
from engine.workspace import Workspace


class _ProgressToScreen:
    """The backtest's progress (engine.progress), from the worker thread onto the screen."""

    def __init__(self, screen: NewBacktestScreen) -> None:
        self.screen = screen

    def stage(self, description: str, total: int | None, unit: str) -> None:
        self.screen.app.call_from_thread(self.screen.show_stage, description, total)

    def advance(self, steps: int) -> None:
        self.screen.app.call_from_thread(self.screen.query_one("#progress", ProgressBar).advance, steps)

    def notice(self, text: str) -> None:
        self.screen.app.call_from_thread(self.screen.notify, text)


class NewBacktestScreen(Screen):
    DEFAULT_CSS = """
    NewBacktestScreen Input, NewBacktestScreen Select { margin: 0 1; }  /* no blank lines: the form fits 80x24 */
    NewBacktestScreen Label, NewBacktestScreen Button { margin: 0 1; }
    NewBacktestScreen .pair { height: auto; }
    NewBacktestScreen .pair Input { width: 1fr; }
    #stage { margin: 1 1 0 1; }
    #progress { display: none; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("strategy")
        strategies = [(entry.name, entry.name) for entry in strategy_entries(self.workspace)]
        yield Select(strategies, id="strategy", prompt="pick a strategy")
        yield Label("symbols (comma-separated; empty: the strategy's)")
        yield Input(id="symbols")
        # Two boxes a row: four in one cut their placeholders at 80 columns.
        with Horizontal(classes="pair"):
            yield Input(placeholder="start YYYY-MM-DD", id="start")
            yield Input(placeholder="end YYYY-MM-DD", id="end")
        with Horizontal(classes="pair"):
            yield Input(placeholder="commission bps", id="commission", type="number")
            yield Input(placeholder="slippage bps", id="slippage", type="number")
        yield Button("Run the backtest", id="run", variant="primary")
        yield Label("", id="stage")
        yield ProgressBar(id="progress", show_eta=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title, self.sub_title = "New backtest", "stored in the run store, as `engine backtest` stores it"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        """The form as a backtest request, run unless one runs already or the form is wrong."""
        if self.query_one("#run", Button).disabled:
            return
        strategy = self.query_one("#strategy", Select).value
        if strategy is Select.BLANK:
            self.notify("pick a strategy first", severity="warning")
            return
        text = {
            name: self.query_one(f"#{name}", Input).value.strip() or None
            for name in ("symbols", "start", "end", "commission", "slippage")
        }
        symbols = None if text["symbols"] is None else [symbol.strip() for symbol in text["symbols"].split(",")]
        try:
            resolved = strategy_with_overrides(
                str(strategy), self.workspace, symbols, None, text["start"], text["end"],
                None if text["commission"] is None else float(text["commission"]),
                None if text["slippage"] is None else float(text["slippage"]),
            )  # fmt: skip
        except (UserError, ValueError) as error:
            self.notify(str(error), severity="error")
            return
        self.query_one("#run", Button).disabled = True
        self.query_one("#progress", ProgressBar).display = True  # hidden until there is progress to show
        self.backtest(resolved)

    @work(thread=True, exclusive=True)
    def backtest(self, resolved) -> None:
        from engine.usecases.backtest_run import journaled_backtest

        try:
            with listening(_ProgressToScreen(self)):
                stored = journaled_backtest(resolved, self.workspace, ["engine", "tui", "backtest", resolved.name])
        except UserError as error:
            self.app.call_from_thread(self.failed, str(error))
            return
        self.app.call_from_thread(self.finished, stored.run_id)

    def show_stage(self, description: str, total: int | None) -> None:
        self.query_one("#stage", Label).update(description)
        self.query_one("#progress", ProgressBar).update(total=total, progress=0)

    def failed(self, problem: str) -> None:
        self.query_one("#run", Button).disabled = False
        self.notify(problem, severity="error", timeout=10)

    def finished(self, run_id: str) -> None:
        self.app.pop_screen()
        self.app.open_run(run_id)
