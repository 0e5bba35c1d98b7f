"""The Runs screen: every run of the workspace in a table that refreshes while runs run (pausable),
filtered with `/`, sorted by any column, with the highlighted run's equity against buy-and-hold
below it. Enter opens a run; space marks runs and `c` compares their equity curves."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input
from textual_plotext import PlotextPlot

from engine.analytics.formatting import format_metric
from engine.stores.run_files import DamagedRun
from engine.stores.runs import RunStore, RunSummary
from engine.tui.charts import clear, plot_lines
from engine.tui.live import LiveScreen

# The metrics come before the long columns, so that at 120 columns they are on the screen.
COLUMNS = ("mark", "run", "kind", "status", "strategy", "return", "sharpe", "max dd", "trades", "symbols", "period")
NUMERIC_COLUMNS = {"return": "total_return", "sharpe": "sharpe", "max dd": "max_drawdown", "trades": "trades"}
SHOWN_SYMBOLS = 3  # then "+N": 24 symbols in full are ~144 characters
ARROWS = {False: "▲", True: "▼"}  # the sorted column's header: ascending, descending


def _symbols(symbols: tuple[str, ...]) -> str:
    if len(symbols) <= SHOWN_SYMBOLS + 1:
        return ",".join(symbols)
    return f"{','.join(symbols[:SHOWN_SYMBOLS])} +{len(symbols) - SHOWN_SYMBOLS}"


def _cells(run: RunSummary, marked: bool) -> tuple:
    period = "" if run.period is None else f"{format_metric('start', run.period[0])} – {format_metric('end', run.period[1])}"
    return (
        "●" if marked else "",
        run.run_id,
        run.kind or "?",
        run.status,
        run.strategy or "?",
        format_metric("total_return", run.total_return),
        format_metric("sharpe", run.sharpe),
        format_metric("max_drawdown", run.max_drawdown),
        "" if run.trades is None else str(run.trades),
        _symbols(run.symbols),
        period,
    )


def _text(run: RunSummary) -> str:
    """What the filter searches: the row's cells, every symbol included."""
    return " ".join((*_cells(run, False), *run.symbols)).lower()


def _sort_key(run: RunSummary, column: int):
    """What a column sorts by: numbers as numbers (missing ones last), the rest as text."""
    field = NUMERIC_COLUMNS.get(COLUMNS[column])
    if field is not None:
        value = getattr(run, field)
        return (value is None, value or 0.0)
    return (False, _cells(run, False)[column])


def _label(column: str, arrow: str = " ") -> Text:
    """A header with room for the sort arrow after it, so that the column keeps its width when it shows."""
    return Text(f"{'' if column == 'mark' else column} {arrow}")


class RunsScreen(LiveScreen):
    DEFAULT_CSS = """
    #runs { height: 1fr; }
    #preview { height: 2fr; }
    """
    BINDINGS = [
        Binding("p", "pause", "Pause", show=False),  # still pauses; out of the footer so that t, d and q fit in 80 columns
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("s", "sort", "Sort"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare", tooltip="Compare the marked runs"),
        Binding("n", "app.new_backtest", "New", tooltip="Start a new backtest"),
        Binding("t", "app.studies", "Studies"),
        Binding("d", "app.data", "Data"),
    ]

    def __init__(self, runs: RunStore) -> None:
        super().__init__()
        self.runs = runs
        self.marked: set[str] = set()
        self.sort_column, self.sort_reverse = 1, False  # by run id: oldest first
        self.shown: list[RunSummary] = []
        self._previewed: tuple[str, str] | None = None

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="filter runs: any text of a row", id="filter")
        yield DataTable(id="runs", cursor_type="cell", zebra_stripes=True)  # cell: the column to sort by
        yield PlotextPlot(id="preview")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        table = self.query_one("#runs", DataTable)
        for column in COLUMNS:
            table.add_column(_label(column), key=column)
        table.focus()
        self.start_refreshing()

    def refresh_live(self) -> None:
        text = self.query_one("#filter", Input).value.strip().lower()
        runs = [run for run in self.runs.list() if not text or text in _text(run)]
        runs.sort(key=lambda run: _sort_key(run, self.sort_column), reverse=self.sort_reverse)
        current = self.highlighted
        self.shown = runs
        self._update_rows(runs)
        if current is not None and current.run_id in {run.run_id for run in runs}:
            # The cursor stays on its run (sorting or a new run may have moved it), the view where it was.
            self.query_one("#runs", DataTable).move_cursor(row=self._row_of(current.run_id), scroll=False)
        self.describe(f"{len(runs)} runs")
        self._preview()

    def _update_rows(self, runs: list[RunSummary]) -> None:
        """The rows changed in place, not cleared and refilled: a refill would scroll the table back
        to its left edge and its cursor to the top every second."""
        table = self.query_one("#runs", DataTable)
        wanted = {run.run_id for run in runs}
        for row_key in [row_key for row_key in table.rows if row_key.value not in wanted]:
            table.remove_row(row_key)
        for run in runs:
            cells = _cells(run, run.run_id in self.marked)
            if run.run_id not in table.rows:
                table.add_row(*cells, key=run.run_id)
                continue
            for column, cell in zip(COLUMNS, cells, strict=True):
                if table.get_cell(run.run_id, column) != cell:
                    table.update_cell(run.run_id, column, cell, update_width=True)
        order = {run.run_id: position for position, run in enumerate(runs)}
        table.sort("run", key=order.__getitem__)
        self._show_sort_arrow(table)

    def _show_sort_arrow(self, table: DataTable) -> None:
        for index, column in enumerate(COLUMNS):
            sorted_here = index == self.sort_column
            table.columns[column].label = _label(column, ARROWS[self.sort_reverse] if sorted_here else " ")

    def _row_of(self, run_id: str) -> int:
        return self.query_one("#runs", DataTable).get_row_index(run_id)

    @property
    def highlighted(self) -> RunSummary | None:
        table = self.query_one("#runs", DataTable)
        if not self.shown or table.cursor_row >= len(self.shown) or table.cursor_row < 0:
            return None
        return self.shown[table.cursor_row]

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self.read_safely(self._preview)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        self.app.open_run(str(event.cell_key.row_key.value))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self._sort_by(event.column_index)

    def _preview(self) -> None:
        plot, run = self.query_one("#preview", PlotextPlot), self.highlighted
        if run is None:
            clear(plot, "no run")
            return
        if self._previewed == (run.run_id, run.status):
            return
        self._previewed = (run.run_id, run.status)
        if run.status != "finished":
            clear(plot, f"{run.run_id}: {run.status}")
            return
        try:
            stored = self.runs.load(run.run_id)
            equity, baselines = stored.equity, stored.baselines
        except DamagedRun as damage:
            clear(plot, f"damaged: {damage.problem}")
            return
        lines = {run.strategy or "strategy": equity["equity"]}
        if baselines is not None and "buy & hold" in baselines:
            lines["buy & hold"] = baselines["buy & hold"]
        plot_lines(plot, f"{run.strategy}: equity", equity["timestamp"], lines)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.read_safely(self.refresh_live)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#runs", DataTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value, box.display = "", False
        self.query_one("#runs", DataTable).focus()
        self.refresh_live()

    def action_sort(self) -> None:
        """Sort by the column the cursor is on: again to reverse."""
        self._sort_by(self.query_one("#runs", DataTable).cursor_column)

    def _sort_by(self, column: int) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self.refresh_live()

    def action_mark(self) -> None:
        run = self.highlighted
        if run is not None:
            self.marked ^= {run.run_id}
            self.refresh_live()

    def action_compare(self) -> None:
        finished = [run.run_id for run in self.shown if run.run_id in self.marked and run.status == "finished"]
        if len(finished) < 2:
            self.notify("mark two or more finished runs (space) to compare them", severity="warning")
            return
        self.app.compare_runs(finished)
