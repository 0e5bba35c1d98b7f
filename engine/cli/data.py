from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.output import ALWAYS, Column, print_line, print_table, stdout
from engine.data.importer import import_bars
from engine.data.store import DataStoreError, StoredSeries, normalize_symbol
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="CSV or Parquet file with a date/timestamp/time column and OHLCV")],
    symbol: Annotated[str, typer.Option(help="Symbol to store the bars under")],
    timeframe: Annotated[str, typer.Option(help="Bar size: 1d, 1h, 15m, …")] = "1d",
) -> None:
    """Validate a file and store it; on any error the store is left as it was."""
    series = import_bars(Workspace.from_env().data, path, symbol, timeframe)
    stdout.print(f"stored {series.rows} {series.timeframe} bars for {series.symbol} ({series.first} to {series.last})")


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
def list_() -> None:
    """Every stored series, with where it came from (real, synthetic or imported)."""
    rows = []
    for series in Workspace.from_env().data.list():
        kind, detail = _kind_and_detail(series)
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
    """A stored series in full: rows, first and last bar, kind, origin and its file."""
    store = Workspace.from_env().data
    wanted = normalize_symbol(symbol)
    found = [series for series in store.list() if series.symbol == wanted and timeframe in (None, series.timeframe)]
    if not found:
        which = f"{timeframe} bars" if timeframe else "bars"
        raise DataStoreError(f"no {which} for {wanted} in {store.root} (see `engine data list`)")
    for series in found:
        kind, detail = _kind_and_detail(series)
        stdout.print(f"[bold]{series.symbol}[/] {series.timeframe}", highlight=False)
        for name, value in (
            ("rows", series.rows),
            ("first", f"{series.first:%Y-%m-%d %H:%M} UTC"),
            ("last", f"{series.last:%Y-%m-%d %H:%M} UTC"),
            ("kind", kind),
            ("origin", detail),
            ("file", series.path),
        ):
            print_line(f"  {name:<7}{value}")


def _kind_and_detail(series: StoredSeries) -> tuple[str, str]:
    """ "real: S&P 500 index …" → ("real", "S&P 500 index …")."""
    kind, _, detail = series.origin.partition(": ")
    return kind, detail or series.origin


@app.command("sample")
def sample(
    if_missing: Annotated[bool, typer.Option(help="Do nothing when the sample is already stored")] = False,
) -> None:
    """Write the embedded sample: real S&P 500 and NASDAQ daily bars, and a synthetic hourly universe."""
    from engine.data.sample import sample_present, write_sample  # arch is slow to import; only here

    store = Workspace.from_env().data
    if if_missing and sample_present(store):
        return
    written = write_sample(store)
    print_line(f"stored {len(written)} sample series in {store.root}")
