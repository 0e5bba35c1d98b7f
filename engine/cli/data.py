from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from engine.cli.output import stdout
from engine.data.importer import import_bars
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


@app.command("list")
def list_() -> None:
    """Every stored series, with where it came from (real, synthetic or imported)."""
    table = Table("symbol", "timeframe", "rows", "first (UTC)", "last (UTC)", "kind", "origin")
    for series in Workspace.from_env().data.list():
        kind, _, detail = series.origin.partition(": ")
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
