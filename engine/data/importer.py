"""Import bars from a user's CSV or Parquet file into the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.bars import FIELDS, PRICE_FIELDS
from engine.data.store import DataStore, StoredSeries, normalize_symbol
from engine.data.validation import BarValidationError, validate_bars

TIMESTAMP_NAMES = ("timestamp", "date", "time", "datetime")


def read_bar_file(path: Path) -> tuple[pd.DataFrame, int]:
    """Read a CSV or Parquet file into a frame with lower-case columns.

    Returns the frame and the number to report for its first data row (the line number in a CSV).
    """
    suffix = path.suffix.lower()
    source = str(path)
    try:
        if suffix in (".csv", ".txt"):
            frame, first_row = pd.read_csv(path, dtype=str, keep_default_na=False), 2
        elif suffix in (".parquet", ".pq"):
            frame, first_row = pd.read_parquet(path), 1
        else:
            raise BarValidationError(source, None, None, "unsupported file type (use .csv or .parquet)")
    except (OSError, ValueError) as error:
        if isinstance(error, BarValidationError):
            raise
        raise BarValidationError(source, None, None, f"cannot read file: {error}") from error
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    return frame, first_row


def normalize_bar_frame(frame: pd.DataFrame, source: str, first_row: int) -> pd.DataFrame:
    """Pick the timestamp and OHLCV columns, parse them, and validate; errors name the row and field."""

    def fail(position: int | None, field: str | None, problem: str) -> None:
        raise BarValidationError(source, None if position is None else first_row + position, field, problem)

    timestamp_column = next((name for name in TIMESTAMP_NAMES if name in frame.columns), None)
    if timestamp_column is None:
        fail(None, None, f"no timestamp column (expected one of {', '.join(TIMESTAMP_NAMES)})")
    missing = [field for field in FIELDS if field not in frame.columns]
    if missing:
        fail(None, None, f"missing column(s) {', '.join(missing)}")

    raw_time = frame[timestamp_column]
    timestamps = pd.to_datetime(raw_time, utc=True, errors="coerce", format="mixed")
    unparsed = timestamps.isna().to_numpy()
    if unparsed.any():
        position = int(np.flatnonzero(unparsed)[0])
        fail(position, timestamp_column, f"cannot read timestamp {raw_time.iloc[position]!r}")

    result = pd.DataFrame({"timestamp": timestamps.dt.as_unit("ns").reset_index(drop=True)})
    for field in FIELDS:
        raw = frame[field].reset_index(drop=True)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        if pd.api.types.is_numeric_dtype(raw):
            blank = np.isnan(values)
        else:
            blank = raw.fillna("").astype(str).str.strip().str.lower().isin(["", "nan", "none", "null"]).to_numpy()
        garbage = np.isnan(values) & ~blank
        if garbage.any():
            position = int(np.flatnonzero(garbage)[0])
            fail(position, field, f"not a number: {raw.iloc[position]!r}")
        if field in PRICE_FIELDS and blank.any():
            position = int(np.flatnonzero(blank)[0])
            fail(position, field, "missing price")
        result[field] = values
    validate_bars(result, source, first_row)
    return result


def import_bars(store: DataStore, path: Path, symbol: str, timeframe: str) -> StoredSeries:
    path = Path(path)
    if not path.exists():
        raise BarValidationError(str(path), None, None, "file not found")
    symbol = normalize_symbol(symbol)
    frame, first_row = read_bar_file(path)
    bars = normalize_bar_frame(frame, str(path), first_row)
    return store.write(bars, symbol, timeframe, origin=f"imported: {path.resolve()}", source=str(path))
