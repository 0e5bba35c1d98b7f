from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from engine.cli.output import stderr, stdout
from engine.data.importer import import_bars
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
        stderr.print(f"[bold yellow]warning:[/] {note}", highlight=False, soft_wrap=True)
    for series in imported.series:
        volume = "" if series.has_volume else ", no volume"
        stdout.print(
            f"stored {series.rows} {series.timeframe} bars for {series.symbol} ({series.first} to {series.last}{volume})",
            highlight=False,
            soft_wrap=True,
        )


@app.command("rm")
def rm(
    symbol: Annotated[str, typer.Argument(help="Symbol of the stored series")],
    timeframe: Annotated[str, typer.Option(help="Bar size of the stored series")] = "1d",
) -> None:
    """Delete one stored series (and its cache)."""
    removed = Workspace.from_env().data.remove(symbol, timeframe)
    stdout.print(
        f"removed {removed.rows} {removed.timeframe} bars for {removed.symbol} ({removed.first} to {removed.last}; "
        f"{removed.origin})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("list")
def list_() -> None:
    """Every stored series, with where it came from (real, synthetic or imported)."""
    table = Table("symbol", "timeframe", "rows", "first (UTC)", "last (UTC)", "kind", "origin")
    for series in Workspace.from_env().data.list():
        kind, _, detail = series.origin.partition(": ")
        if not series.has_volume:
            kind += ", no volume"
        table.add_row(
            series.symbol,
            series.timeframe,
            str(series.rows),
            f"{series.first:%Y-%m-%d %H:%M}",
            f"{series.last:%Y-%m-%d %H:%M}",
            kind,
            detail or series.origin,
        )
    stdout.print(table)


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
    stdout.print(f"stored {len(written)} sample series in {store.root}")
