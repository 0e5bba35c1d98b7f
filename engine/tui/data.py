"""The Data screen: the stored series (symbol, timeframe, rows, range, kind, origin) and the
highlighted one's closes; Esc goes back."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header
from textual_plotext import PlotextPlot

from engine.data.store import DataStore
from engine.tui.charts import clear, plot_lines

COLUMNS = ("symbol", "timeframe", "rows", "first (UTC)", "last (UTC)", "kind", "origin")


class DataScreen(Screen):
    DEFAULT_CSS = """
    #series { height: 1fr; }
    #prices { height: 2fr; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, store: DataStore) -> None:
        super().__init__()
        self.store = store
        self.series = store.list()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="series", cursor_type="row", zebra_stripes=True)
        yield PlotextPlot(id="prices")
        yield Footer()

    def on_mount(self) -> None:
        self.title, self.sub_title = "Data", f"{len(self.series)} stored series"
        table = self.query_one("#series", DataTable)
        table.add_columns(*COLUMNS)
        for series in self.series:
            kind, detail = series.kind_and_detail()
            if series.damage is not None:
                table.add_row(series.symbol, series.timeframe, "?", "?", "?", kind, detail)
                continue
            first, last = (stamp.strftime("%Y-%m-%d %H:%M") for stamp in (series.first, series.last))
            table.add_row(series.symbol, series.timeframe, f"{series.rows:,}", first, last, kind, detail)
        self._chart()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._chart()

    def _chart(self) -> None:
        plot, row = self.query_one("#prices", PlotextPlot), self.query_one("#series", DataTable).cursor_row
        if not self.series or self.series[row].damage is not None:
            clear(plot, "no series")
            return
        series = self.series[row]
        bars = self.store.load([series.symbol], series.timeframe)
        plot_lines(plot, f"{series.symbol} {series.timeframe}: close", bars.index(), {series.symbol: bars.close[:, 0]})
