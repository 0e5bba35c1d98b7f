"""The Data screen: the stored series (symbol, timeframe, rows, range, kind, origin), the highlighted
one's closes, and the news about its symbol: each article's sentiment (as the sentiment feature
reads it, with its default settings) and the bar of this series it counts for. Esc goes back."""

from __future__ import annotations

import numpy as np
import pandas as pd
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual_plotext import PlotextPlot

from engine.features.sentiment import SentimentSettings, bar_closes
from engine.kernel.bars import Bars
from engine.news.timeline import SentimentInputError, scored_articles
from engine.tui.charts import clear, plot_lines
from engine.workspace import Workspace

COLUMNS = ("symbol", "timeframe", "rows", "first (UTC)", "last (UTC)", "kind", "origin")
NEWS_COLUMNS = ("available (UTC)", "headline", "source", "sentiment", "counts at the bar of")


class DataScreen(Screen):
    DEFAULT_CSS = """
    #series { height: 1fr; }
    #prices { height: 2fr; }
    #news { height: 1fr; }
    #news-note { height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace, self.store = workspace, workspace.data
        self.series = self.store.list()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="series", cursor_type="row", zebra_stripes=True)
        yield PlotextPlot(id="prices")
        yield Static(id="news-note")
        yield DataTable(id="news", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title, self.sub_title = "Data", f"{len(self.series)} stored series"
        table = self.query_one("#series", DataTable)
        table.add_columns(*COLUMNS)
        self.query_one("#news", DataTable).add_columns(*NEWS_COLUMNS)
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
        self._news(series.symbol, bars)

    def _news(self, symbol: str, bars: Bars) -> None:
        table = self.query_one("#news", DataTable)
        table.clear()
        note = self.query_one("#news-note", Static)
        if self.workspace.news.read([symbol]).empty:
            note.update(f"no news about {symbol} (`engine news fetch` or `engine news import` stores some)")
            return
        try:
            articles = scored_articles(self.workspace.news, (symbol,), SentimentSettings())
            note.update(f"news about {symbol}: {len(articles)} articles, scored by {SentimentSettings().model}")
        except SentimentInputError as missing:  # no news, or not scored: the headlines alone
            articles = self.workspace.news.read([symbol]).assign(available=lambda frame: frame["created_at"], score=np.nan)
            note.update(str(missing))
        closes = bar_closes(bars.timestamps, self.series[self.query_one("#series", DataTable).cursor_row].timeframe)
        counted = np.searchsorted(closes, pd.DatetimeIndex(articles["available"]).asi8, side="left")
        index = bars.index()
        for article, bar in zip(articles.itertuples(), counted, strict=True):
            score = "not scored" if np.isnan(article.score) else f"{article.score:+.3f}"
            at = index[bar].strftime("%Y-%m-%d %H:%M") if bar < len(index) else "after the last bar"
            table.add_row(article.available.strftime("%Y-%m-%d %H:%M"), article.headline, article.source, score, at)
