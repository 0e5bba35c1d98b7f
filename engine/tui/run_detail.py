"""A run's detail: its metrics beside the baselines' (and the warnings on them), equity and drawdown
charts, trades, the walk-forward folds, the overlay ablation and what the risk gate did where the run
has them, and its resolved configuration.
`o` writes (if needed) and opens its HTML report; Esc goes back."""

from __future__ import annotations

import json
import webbrowser

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from engine.analytics.formatting import format_metric
from engine.kernel.risk import risk_summary
from engine.report.breakdowns import ablation_table, fold_table, risk_gate_table, trade_table
from engine.report.render import Table
from engine.stores.runs import StoredRun
from engine.tui.charts import plot_lines

# The ablation's overlays column, wrapped: the whole chain on one line pushed the metrics off the screen.
OVERLAYS_WIDTH = 30


class RunDetailScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "open_report", "Report", tooltip="Open the HTML report"),
    ]

    def __init__(self, run: StoredRun) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent():
            with TabPane("Metrics", id="metrics-tab"):
                yield DataTable(id="metrics", cursor_type="row")
                warnings = self.run.metrics.get("warnings", [])
                if warnings:
                    yield Static("\n".join(f"warning: {warning}" for warning in warnings), id="warnings")
            with TabPane("Charts", id="charts-tab"):
                yield PlotextPlot(id="equity")
                yield PlotextPlot(id="drawdown")
            with TabPane("Trades", id="trades-tab"):
                yield DataTable(id="trades", cursor_type="row", zebra_stripes=True)
            if self.run.folds:
                with TabPane("Folds", id="folds-tab"):
                    yield DataTable(id="folds", cursor_type="row")
            if self.run.ablation:
                with TabPane("Ablation", id="ablation-tab"):
                    yield DataTable(id="ablation", cursor_type="row", header_height=2)
            if self.run.risk is not None:
                with TabPane("Risk", id="risk-tab"):
                    yield Static(risk_summary(self.run.risk), id="risk-summary")
                    yield DataTable(id="risk", cursor_type="row")
            with TabPane("Config", id="config-tab"):
                yield Static(json.dumps(self.run.config, indent=2), id="config")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        run = self.run
        strategy = run.config["strategy"]
        self.title = f"{strategy['name']} · {run.run_id}"
        self.sub_title = f"{run.kind} on {', '.join(strategy['data']['symbols'])} ({strategy['data']['timeframe']})"
        self._metrics()
        self._charts()
        # Trades, folds, ablation steps and the risk gate's events as the report shows them.
        slippage = run.config["strategy"]["costs"]["slippage_bps"] / 1e4
        _show_table(self.query_one("#trades", DataTable), trade_table(run.trades, run.equity["timestamp"].iloc[-1], slippage))
        if run.folds:
            _show_table(self.query_one("#folds", DataTable), fold_table(run.folds))
        if run.ablation:
            _show_ablation(self.query_one("#ablation", DataTable), ablation_table(run.ablation))
        if run.risk is not None:
            _show_table(self.query_one("#risk", DataTable), risk_gate_table(run.risk))

    def _metrics(self) -> None:
        metrics = self.run.metrics
        columns = {self.run.config["strategy"]["name"]: metrics["strategy"], **metrics["baselines"]}
        table = self.query_one("#metrics", DataTable)
        table.add_columns("metric", *columns)
        for name in metrics["strategy"]:
            table.add_row(name, *(format_metric(name, values.get(name)) for values in columns.values()), key=name)

    def _charts(self) -> None:
        equity, baselines = self.run.equity, self.run.baselines
        lines = {self.run.config["strategy"]["name"]: equity["equity"]}
        if baselines is not None:
            lines |= {name: baselines[name] for name in baselines.columns if name != "timestamp"}
        plot_lines(self.query_one("#equity", PlotextPlot), "equity", equity["timestamp"], lines)
        drawdown = equity["equity"] / equity["equity"].cummax() - 1.0
        plot_lines(self.query_one("#drawdown", PlotextPlot), "drawdown", equity["timestamp"], {"drawdown": drawdown})

    def action_open_report(self) -> None:
        from engine.report import write_tearsheet

        report = self.run.path / "report" / "report.html"
        if not report.exists():
            report = write_tearsheet(self.run)
        opened = webbrowser.open(report.as_uri())
        self.notify(f"{'opened' if opened else 'no browser here; the report is'} {report}")


def _show_table(widget: DataTable, table: Table) -> None:
    widget.add_columns(*table.columns)
    for row in table.rows:
        widget.add_row(*row)


def _show_ablation(widget: DataTable, table: Table) -> None:
    """The ablation's table within 120 columns: its overlays wrapped onto more lines, its headers on two."""
    for column in table.columns:
        widget.add_column(_two_lines(column), width=OVERLAYS_WIDTH if column == "overlays" else None)
    for row in table.rows:
        widget.add_row(*row, height=None)  # None: as many lines as the wrapped overlays need


def _two_lines(label: str) -> str:
    """A header broken at the space nearest its middle (a single word stays on one line)."""
    spaces = [index for index, character in enumerate(label) if character == " "]
    if not spaces:
        return label
    middle = min(spaces, key=lambda index: abs(index - len(label) / 2))
    return f"{label[:middle]}\n{label[middle + 1 :]}"
