"""The rules every stored bar series obeys, checked on write and on read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.bars import FIELDS, PRICE_FIELDS
from engine.errors import UserError


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


def validate_bars(frame: pd.DataFrame, source: str, first_row: int = 1) -> None:
    """Check a frame with a UTC `timestamp` column and OHLCV columns.

    `first_row` is the number reported for the frame's first row (2 for a CSV with a header line,
    so the number matches the line in the file).
    """

    def fail(position: int | None, field: str | None, problem: str) -> None:
        raise BarValidationError(source, None if position is None else first_row + position, field, problem)

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
    volume = values["volume"]
    bad = np.isnan(volume) | (volume < 0) | ~np.isfinite(volume)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        fail(position, "volume", f"volume must be a finite number >= 0, got {volume[position]}")

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
