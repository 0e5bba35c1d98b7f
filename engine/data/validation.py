"""The rules every stored bar series obeys, checked on write and on read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import UserError
from engine.kernel.bars import FIELDS, PRICE_FIELDS

# Prices lie within these bounds, and volume below the upper one, so that every product of a few
# of them (a position's value, price times volume, a price squared in a variance, equity over many
# trades) stays finite: float64 overflows at 1.8e308.
SMALLEST_PRICE, LARGEST_VALUE = 1e-20, 1e20


class BarValidationError(UserError, ValueError):
    """A bar series breaks a rule; the message names the source, the row and the field."""

    def __init__(self, source: str, row: int | None, field: str | None, problem: str) -> None:
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {problem}")
        self.source, self.row, self.field, self.problem = source, row, field, problem


def one_line(error: object) -> str:
    """An error's message on one line (parser and Arrow messages can hold newlines)."""
    return " ".join(str(error).split())


def has_no_volume(volume: np.ndarray) -> bool:
    """A series stored without volume (the file had none) holds NaN in every row."""
    return bool(np.isnan(volume).all())


def validate_bars(frame: pd.DataFrame, source: str, row_numbers: np.ndarray | None = None) -> None:
    """Check a frame with a UTC `timestamp` column and OHLCV columns.

    `row_numbers` are the numbers reported for the frame's rows (for a CSV, the lines in the file;
    for one symbol of a file that holds several, its own lines); default 1, 2, 3, ...
    A volume column that is NaN throughout is a series without volume; NaN in some rows only is an error.
    """

    numbers = np.arange(1, len(frame) + 1) if row_numbers is None else row_numbers

    def fail(position: int | None, field: str | None, problem: str) -> None:
        row = None if position is None else int(numbers[position])
        raise BarValidationError(source, row, field, problem)

    if frame.empty:
        fail(None, None, "no bars")
    missing = [column for column in ("timestamp", *FIELDS) if column not in frame.columns]
    if missing:
        fail(None, None, f"missing column(s) {', '.join(missing)}")

    timestamps = frame["timestamp"]
    if timestamps.isna().any():
        fail(int(np.flatnonzero(timestamps.isna().to_numpy())[0]), "timestamp", "missing timestamp")
    ts = timestamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    steps = np.diff(ts)
    if (steps == 0).any():
        position = int(np.flatnonzero(steps == 0)[0]) + 1
        fail(position, "timestamp", f"duplicate timestamp {timestamps.iloc[position]}")
    if (steps < 0).any():
        position = int(np.flatnonzero(steps < 0)[0]) + 1
        fail(position, "timestamp", f"timestamp {timestamps.iloc[position]} is earlier than the row before it")

    values = {field: frame[field].to_numpy(dtype=np.float64) for field in FIELDS}
    for field in PRICE_FIELDS:
        bad = np.isnan(values[field])
        if bad.any():
            fail(int(np.flatnonzero(bad)[0]), field, "missing price (NaN)")
        bad = ~(values[field] > 0) | ~np.isfinite(values[field])
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            fail(position, field, f"price must be positive and finite, got {values[field][position]}")
        bad = (values[field] < SMALLEST_PRICE) | (values[field] > LARGEST_VALUE)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            fail(
                position,
                field,
                f"price {values[field][position]:g} is out of range: prices must lie within "
                f"{SMALLEST_PRICE:g} to {LARGEST_VALUE:g}, so that values computed from them stay finite",
            )
    volume = values["volume"]
    if np.isnan(volume).any() and not has_no_volume(volume):
        fail(int(np.flatnonzero(np.isnan(volume))[0]), "volume", "missing volume (a series has volume in every row or in none)")
    bad = (volume < 0) | (volume > LARGEST_VALUE)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        fail(position, "volume", f"volume must be a number >= 0 and <= {LARGEST_VALUE:g}, got {volume[position]:g}")

    low, high = values["low"], values["high"]
    for field in ("open", "close"):
        bad = values[field] < low
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            fail(position, field, f"{field} {values[field][position]} is below low {low[position]}")
        bad = values[field] > high
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            fail(position, field, f"{field} {values[field][position]} is above high {high[position]}")
