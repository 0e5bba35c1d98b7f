from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from engine.analytics.formatting import counted
from engine.cli.output import ALWAYS, WARNING, Column, ListJson, print_json_line, print_labelled, print_line, print_table, stdout
from engine.cli.progress_display import StageDisplay
from engine.data.importer import import_bars
from engine.data.store import DamagedSeriesError, DataStoreError, StoredSeries, normalize_symbol
from engine.progress import listening
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="CSV or Parquet file with a date/timestamp/time column and OHLCV")],
    symbol: Annotated[
        str | None, typer.Option(help="Symbol to store the bars under (with a symbol column: import only its rows)")
    ] = None,
    timeframe: Annotated[str, typer.Option(help="Bar size: 1d, 1h, 15m, …; checked against the bars' spacing")] = "1d",
    symbol_column: Annotated[
        str | None, typer.Option(help="Column naming each row's symbol (default: a 'symbol' or 'ticker' column)")
    ] = None,
    adjust: Annotated[bool, typer.Option(help="Scale open/high/low/close by the file's adjusted close / close")] = False,
) -> None:
    """Validate a file and store it, one series per symbol; on any error the store is left as it was."""
    imported = import_bars(Workspace.from_env().data, path, symbol, timeframe, symbol_column, adjust)
    for note in imported.notes:
        print_labelled(WARNING, note)
    for series in imported.series:
        volume = "" if series.has_volume else ", no volume"
        print_line(f"stored {series.rows} {series.timeframe} bars for {series.symbol} ({series.first} to {series.last}{volume})")


class Source(StrEnum):
    alpaca = "alpaca"


class Feed(StrEnum):
    iex = "iex"
    sip = "sip"


class Adjustment(StrEnum):
    raw = "raw"
    split = "split"
    all = "all"


SymbolsArgument = Annotated[list[str], typer.Argument(help="Symbols, like AAPL MSFT")]
StartOption = Annotated[str, typer.Option(help="First day or time, UTC unless it says (2024-01-31, 2024-01-31T14:30)")]
EndOption = Annotated[str | None, typer.Option(help="Last day (all of it) or time (default: now)")]


@app.command("fetch")
def fetch(
    symbols: SymbolsArgument,
    start: StartOption,
    end: EndOption = None,
    source: Annotated[Source, typer.Option(help="Where from: Alpaca (or the server ENGINE_ALPACA_URL names)")] = Source.alpaca,
    timeframe: Annotated[str, typer.Option(help="Bar size: 1m to 59m, 1h to 23h, 1d or 1w")] = "1d",
    feed: Annotated[Feed, typer.Option(help="Alpaca's feed: iex (free) or sip (every exchange)")] = Feed.iex,
    adjustment: Annotated[Adjustment, typer.Option(help="Prices as traded (raw), or adjusted for splits, or for all actions")] = (
        Adjustment.raw
    ),
) -> None:
    """Fetch bars into the store, validated like an import: only what a stored series lacks, merged
    with it; on any error (or an interruption) the store is left as it was."""
    from engine.alpaca.bars import fetch_bars  # alpaca-py is slow to import; only here
    from engine.alpaca.connection import AlpacaConnection
    from engine.alpaca.span import Span

    span, connection = Span.parse(start, end), AlpacaConnection.from_env()
    with StageDisplay() as display, listening(display):
        fetched = fetch_bars(Workspace.from_env().data, connection, symbols, timeframe, span, feed.value, adjustment.value)
    for result in fetched:
        series = result.stored
        if series is None:
            print_labelled(WARNING, f"no {timeframe} bars for {result.symbol} from {connection.data_server} in that span")
            continue
        stored = f"{series.rows} bars, {series.first} to {series.last}"
        if result.new_bars:
            print_line(f"stored {result.new_bars} new {timeframe} bars for {result.symbol} (now {stored})")
        else:
            print_line(f"no new {timeframe} bars for {result.symbol} (stored: {stored})")


@app.command("rm")
def rm(
    symbol: Annotated[str, typer.Argument(help="Symbol of the stored series")],
    timeframe: Annotated[str, typer.Option(help="Bar size of the stored series")] = "1d",
) -> None:
    """Delete one stored series (and its cache), a damaged one too."""
    removed = Workspace.from_env().data.remove(symbol, timeframe)
    if removed.damage is not None:
        print_line(f"removed the damaged file {removed.path} ({removed.damage})")
        return
    print_line(
        f"removed {removed.rows} {removed.timeframe} bars for {removed.symbol} ({removed.first} to {removed.last}; "
        f"{removed.origin})"
    )


DATA_COLUMNS = [
    Column("symbol", identifier=True),
    Column("timeframe", keep=ALWAYS, short="tf"),
    Column("rows", "right", keep=5),
    Column("first (UTC)", keep=6, short="first"),
    Column("last (UTC)", keep=7, short="last"),
    Column("kind", keep=8),
    Column("origin", keep=0),
]


@app.command("list")
def list_(json: ListJson = False) -> None:
    """Every stored series, with where it came from (real, synthetic or imported); a file that cannot
    be read is listed as damaged, with its path and what is wrong."""
    stored = Workspace.from_env().data.list()
    if json:
        print_json_line([_series_json(series) for series in stored])
        return
    rows = []
    for series in stored:
        kind, detail = series.kind_and_detail()
        if series.damage is not None:
            rows.append([series.symbol, series.timeframe, "?", "?", "?", kind, detail])
            continue
        rows.append(
            [
                series.symbol,
                series.timeframe,
                str(series.rows),
                f"{series.first:%Y-%m-%d %H:%M}",
                f"{series.last:%Y-%m-%d %H:%M}",
                kind,
                detail,
            ]
        )
    print_table(DATA_COLUMNS, rows, more="see `engine data show SYMBOL`")


@app.command("show")
def show(
    symbol: Annotated[str, typer.Argument(help="A stored symbol, as `engine data list` shows it")],
    timeframe: Annotated[str | None, typer.Option(help="Only this bar size [default: every stored one]")] = None,
) -> None:
    """A stored series in full: rows, first and last bar, kind, origin and its file. A damaged file
    is an error saying what is wrong with it (after the readable series of the symbol)."""
    store = Workspace.from_env().data
    wanted = normalize_symbol(symbol)
    found = [series for series in store.list() if series.symbol == wanted and timeframe in (None, series.timeframe)]
    if not found:
        which = f"{timeframe} bars" if timeframe else "bars"
        raise DataStoreError(f"no {which} for {wanted} in {store.root} (see `engine data list`)")
    for series in (series for series in found if series.damage is None):
        kind, detail = series.kind_and_detail()
        stdout.print(f"[bold]{escape(series.symbol)}[/] {series.timeframe}", highlight=False)
        for name, value in (
            ("rows", series.rows),
            ("first", f"{series.first:%Y-%m-%d %H:%M} UTC"),
            ("last", f"{series.last:%Y-%m-%d %H:%M} UTC"),
            ("kind", kind),
            ("origin", detail),
            ("file", series.path),
        ):
            print_line(f"  {name:<7}{value}")
    damaged = [series for series in found if series.damage is not None]
    if damaged:
        raise DamagedSeriesError(damaged[0])


def _series_json(series: StoredSeries) -> dict:
    readable = series.damage is None  # a damaged file's rows and span are unknown: null
    return {
        "symbol": series.symbol,
        "timeframe": series.timeframe,
        "rows": series.rows if readable else None,
        "first": series.first.isoformat() if readable else None,
        "last": series.last.isoformat() if readable else None,
        "origin": series.origin,
        "has_volume": series.has_volume,
        "path": str(series.path),
        "damage": series.damage,
    }


@app.command("sample")
def sample(
    if_missing: Annotated[bool, typer.Option(help="Do nothing when the sample is already stored")] = False,
) -> None:
    """Write the embedded sample: real S&P 500 and NASDAQ daily bars, a synthetic hourly universe, and
    synthetic news about it."""
    from engine.data.sample import sample_present, write_sample  # arch is slow to import; only here

    workspace = Workspace.from_env()
    if if_missing and sample_present(workspace.data, workspace.news):
        return
    written, articles = write_sample(workspace.data, workspace.news)
    print_line(f"stored {len(written)} sample series in {workspace.data.root} and {counted(articles, 'synthetic article')}")
