"""Marked runs' equity curves on one chart, each as a growth of 1 so different capitals compare."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual_plotext import PlotextPlot

from engine.stores.runs import StoredRun
from engine.tui.charts import plot_lines


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, runs: list[StoredRun]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        yield Header()
        yield PlotextPlot(id="compare")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"comparing {len(self.runs)} runs"
        self.sub_title = ", ".join(run.run_id for run in self.runs)
        frames = {run.run_id: run.equity.set_index("timestamp")["equity"] for run in self.runs}
        index = sorted(set().union(*(frame.index for frame in frames.values())))
        lines = {name: (frame / frame.iloc[0]).reindex(index).ffill().fillna(1.0) for name, frame in frames.items()}
        plot_lines(self.query_one("#compare", PlotextPlot), "growth of 1", index, lines)
