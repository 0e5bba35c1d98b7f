"""Import bars from a user's CSV or Parquet file into the store.

A file holds one symbol's bars (stored under `symbol`), or the bars of several symbols with a
column naming each row's symbol (`symbol` or `ticker`, or any column named by `symbol_column`),
stored as one series per symbol. Every series is checked (validation rules, timeframe against the
bars' spacing) before any is written, so a bad file stores nothing.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.data.spacing import check_spacing
from engine.data.store import DataStore, DataStoreError, StoredSeries, check_timeframe, normalize_symbol
from engine.data.timestamps import parse_timestamps
from engine.data.validation import BarValidationError, one_line, validate_bars
from engine.kernel.bars import FIELDS, PRICE_FIELDS

TIMESTAMP_NAMES = ("timestamp", "date", "time", "datetime")
SYMBOL_NAMES = ("symbol", "ticker")
ADJ_CLOSE_NAMES = ("adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close")
BLANKS = ("", "nan", "none", "null")


@dataclass(frozen=True)
class ImportedFile:
    series: list[StoredSeries]
    notes: list[str]  # what the user should know about how the file was read (a column ignored, no volume)


def read_bar_file(path: Path) -> tuple[pd.DataFrame, int]:
    """Read a CSV or Parquet file into a frame with lower-case columns (a Parquet index becomes a column).

    Returns the frame and the number to report for its first data row (the line number in a CSV).
    """
    suffix = path.suffix.lower()
    source = str(path)
    try:
        if suffix in (".csv", ".txt"):
            frame, first_row = _read_csv(path), 2
        elif suffix in (".parquet", ".pq"):
            frame, first_row = pd.read_parquet(path), 1
        else:
            raise BarValidationError(source, None, None, "unsupported file type (use .csv or .parquet)")
    except (OSError, ValueError, pa.ArrowException) as error:
        if isinstance(error, BarValidationError):
            raise
        raise BarValidationError(source, None, None, f"cannot read file: {one_line(error)}") from error
    if not isinstance(frame.index, pd.RangeIndex):  # pandas wrote its index (often the dates) into the file
        if isinstance(frame.index, pd.DatetimeIndex) and frame.index.name is None:
            frame.index.name = "timestamp"
        frame = frame.reset_index()
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        raise BarValidationError(source, None, repeated[0], "more than one column has this name (names ignore case)")
    return frame, first_row


def _read_csv(path: Path) -> pd.DataFrame:
    """Every cell as text. A row with more fields than the header is refused, naming its line
    (pandas would read a first column as the index, or fail with a parser message)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)  # index_col=False warns when it would drop fields
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
        except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
            line, fields, header = _first_long_row(path)
            if line is None:
                raise ValueError(str(error)) from error
            problem = f"the row has {fields} fields, more than the header's {header}"
            raise BarValidationError(str(path), line, None, problem) from None


def _first_long_row(path: Path) -> tuple[int | None, int, int]:
    """The line number and field count of the first row longer than the header, and the header's count."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        header = len(next(rows, []))
        for row in rows:
            if len(row) > header:
                return rows.line_num, len(row), header
    return None, 0, header


def parse_bar_columns(frame: pd.DataFrame, source: str, row_numbers: np.ndarray, adj_close: str | None) -> pd.DataFrame:
    """The timestamp and OHLCV columns parsed (and `adj_close` when given); a file without a volume
    column gets NaN volume. Errors name the row and the column."""

    def fail(position: int | None, field: str | None, problem: str) -> NoReturn:
        raise BarValidationError(source, None if position is None else int(row_numbers[position]), field, problem)

    timestamp_column = next((name for name in TIMESTAMP_NAMES if name in frame.columns), None)
    if timestamp_column is None:
        fail(None, None, f"no timestamp column (expected one of {', '.join(TIMESTAMP_NAMES)})")
    missing = [field for field in PRICE_FIELDS if field not in frame.columns]
    if missing:
        fail(None, None, f"missing column(s) {', '.join(missing)}")

    result = pd.DataFrame({"timestamp": parse_timestamps(frame[timestamp_column], source, timestamp_column, row_numbers)})
    wanted = {field: field for field in FIELDS if field in frame.columns}
    if adj_close is not None:
        wanted["adj_close"] = adj_close
    for name, column in wanted.items():
        raw = frame[column].reset_index(drop=True)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        if pd.api.types.is_numeric_dtype(raw):
            blank = np.isnan(values)
        else:
            blank = raw.fillna("").astype(str).str.strip().str.lower().isin(BLANKS).to_numpy()
        garbage = np.isnan(values) & ~blank
        if garbage.any():
            position = int(np.flatnonzero(garbage)[0])
            fail(position, column, f"not a number: {raw.iloc[position]!r}")
        if name != "volume" and blank.any():
            fail(int(np.flatnonzero(blank)[0]), column, "missing price")
        result[name] = values
    if "volume" not in result:
        result["volume"] = np.nan
    return result


def adjusted_by_adj_close(bars: pd.DataFrame, source: str, row_numbers: np.ndarray, column: str) -> pd.DataFrame:
    """Open, high, low and close scaled by adj close / close (splits and dividends folded into the
    prices, as the adjusted close has them); volume as it was. The scaled prices are checked again
    (an adjusted close far from the close can push them out of range), naming the file's rows."""
    adj_close = bars["adj_close"].to_numpy()
    bad = ~(adj_close > 0) | ~np.isfinite(adj_close)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise BarValidationError(
            source, int(row_numbers[position]), column, f"adjusted close must be positive, got {adj_close[position]}"
        )
    factor = adj_close / bars["close"].to_numpy()
    adjusted = bars[["timestamp", *FIELDS]].copy()
    for field in PRICE_FIELDS:
        adjusted[field] = adjusted[field].to_numpy() * factor
    validate_bars(adjusted, source, row_numbers)
    return adjusted


def rows_by_symbol(
    frame: pd.DataFrame, source: str, row_numbers: np.ndarray, column: str, only: str | None
) -> dict[str, np.ndarray]:
    """Each symbol in `column` with the positions of its rows, in file order; only `only` when given."""
    names = frame[column].astype(str).str.strip().str.upper().reset_index(drop=True)
    positions = {symbol: np.asarray(rows) for symbol, rows in names.groupby(names, sort=True).indices.items()}
    for symbol, rows in positions.items():
        try:
            normalize_symbol(symbol)
        except DataStoreError as error:
            raise BarValidationError(source, int(row_numbers[rows[0]]), column, str(error)) from None
    if only is None:
        return positions
    if only not in positions:
        held = ", ".join(list(positions)[:10]) + (", …" if len(positions) > 10 else "")
        raise BarValidationError(source, None, column, f"no rows for symbol {only} (the file holds {held})")
    return {only: positions[only]}


def import_bars(
    store: DataStore,
    path: Path,
    symbol: str | None = None,
    timeframe: str = "1d",
    symbol_column: str | None = None,
    adjust: bool = False,
) -> ImportedFile:
    """Store the file's bars under `symbol`, or one series per symbol of its symbol column (only
    `symbol`'s rows when both are given). With `adjust`, prices are scaled by its adjusted close."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise BarValidationError(source, None, None, "file not found")
    check_timeframe(timeframe)
    only = None if symbol is None else normalize_symbol(symbol)
    frame, first_row = read_bar_file(path)
    row_numbers = first_row + np.arange(len(frame))

    column = _symbol_column(frame, source, symbol_column)
    adj_close = next((name for name in ADJ_CLOSE_NAMES if name in frame.columns), None)
    if adjust and adj_close is None:
        raise BarValidationError(source, None, None, f"--adjust needs an adjusted close column ({', '.join(ADJ_CLOSE_NAMES)})")
    bars = parse_bar_columns(frame, source, row_numbers, adj_close if adjust else None)
    if column is not None:
        groups = rows_by_symbol(frame, source, row_numbers, column, only)
    elif only is not None:
        groups = {only: np.arange(len(frame))}
    else:
        raise BarValidationError(
            source, None, None, "no symbol: pass --symbol S, or --symbol-column NAME when a column names each row's symbol"
        )

    checked = {}
    for name, positions in groups.items():
        label = source if column is None else f"{source} (symbol {name})"
        series, rows = bars.iloc[positions].reset_index(drop=True), row_numbers[positions]
        try:
            validate_bars(series, label, rows)
        except BarValidationError as error:
            raise _with_symbol_column_hint(error, frame, column) from None
        check_spacing(series["timestamp"], timeframe, label)
        checked[name] = adjusted_by_adj_close(series, label, rows, adj_close) if adjust else series

    origin = f"imported: {path.resolve()}" + (f", open/high/low/close scaled by '{adj_close}' / close" if adjust else "")
    written = [store.write(series, name, timeframe, origin=origin, source=source) for name, series in checked.items()]
    return ImportedFile(written, _notes(source, adj_close, adjust, written))


def _symbol_column(frame: pd.DataFrame, source: str, named: str | None) -> str | None:
    if named is None:
        return next((name for name in SYMBOL_NAMES if name in frame.columns), None)
    if named.strip().lower() not in frame.columns:
        raise BarValidationError(
            source, None, None, f"no column '{named}' for --symbol-column (columns: {', '.join(frame.columns)})"
        )
    return named.strip().lower()


def _with_symbol_column_hint(error: BarValidationError, frame: pd.DataFrame, column: str | None) -> BarValidationError:
    """Repeated or backward timestamps beside a text column are the mark of several symbols in one
    file: say which option reads it."""
    if column is not None or error.field != "timestamp":
        return error
    text_columns = [name for name in frame.columns if pd.to_numeric(frame[name], errors="coerce").isna().any()]
    candidates = [name for name in text_columns if name not in (*TIMESTAMP_NAMES, *ADJ_CLOSE_NAMES)]
    if not candidates:
        return error
    hint = f"; if column '{candidates[0]}' names each row's symbol, import with --symbol-column {candidates[0]}"
    return BarValidationError(error.source, error.row, error.field, error.problem + hint)


def _notes(source: str, adj_close: str | None, adjust: bool, written: list[StoredSeries]) -> list[str]:
    notes = []
    if adj_close is not None and not adjust:
        notes.append(
            f"{source}: column '{adj_close}' ignored: open/high/low/close are stored as the file has them "
            "(--adjust scales them by adjusted close / close)"
        )
    without_volume = [series.symbol for series in written if not series.has_volume]
    if without_volume:
        notes.append(
            f"{source}: no volume for {', '.join(without_volume)}: stored as NaN; rule strategies run, "
            "features that need volume (technical) refuse these bars"
        )
    return notes
