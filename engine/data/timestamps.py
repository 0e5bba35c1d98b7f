"""Reading the time column of a user's file: text, datetimes, or epoch numbers.

Epoch numbers are told apart by magnitude alone, so a file is never read in the wrong unit:

    1e8  <= n < 1e10   epoch seconds       (1973-03-03 to 2286-11-20)
    1e11 <= n < 1e13   epoch milliseconds  (the same span)
    1e14 <= n < 1e16   epoch microseconds  (the same span)
    1e17 <= n < 1e19   epoch nanoseconds   (the same span)

Every number in a column must fall in the same one of these ranges; anything else is refused rather
than guessed (1e10 to 1e11 could be seconds after 2286 or milliseconds in 1970-73, and so on). A
column whose numbers are all below 1e8 is not epoch time: it is read as text, so that 20240102 is
the date YYYYMMDD. Times without a zone are UTC. The store holds nanoseconds, so every time must
fall within 1677-09-21 and 2262-04-11.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import numpy as np
import pandas as pd

from engine.data.validation import BarValidationError

EPOCH_UNITS = {
    "seconds": ("s", 1e8, 1e10),
    "milliseconds": ("ms", 1e11, 1e13),
    "microseconds": ("us", 1e14, 1e16),
    "nanoseconds": ("ns", 1e17, 1e19),
}
SMALLEST_EPOCH = 1e8
EPOCH_RULE = "epoch seconds are 1e8 <= n < 1e10, milliseconds 1e11 to 1e13, microseconds 1e14 to 1e16, nanoseconds 1e17 to 1e19"
EARLIEST, LATEST = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")


def parse_timestamps(raw: pd.Series, source: str, column: str, row_numbers: np.ndarray) -> pd.Series:
    """The column as UTC timestamps (ns); an error names the file, the row and the column."""

    def fail(position: int, problem: str) -> NoReturn:
        raise BarValidationError(source, int(row_numbers[position]), column, problem)

    raw = raw.reset_index(drop=True)
    numbers = None if pd.api.types.is_datetime64_any_dtype(raw) else pd.to_numeric(raw, errors="coerce")
    if numbers is not None and numbers.notna().all() and (numbers >= SMALLEST_EPOCH).any():
        parsed = _from_epoch(raw, numbers, fail)
    else:
        text = raw if numbers is None or not pd.api.types.is_numeric_dtype(raw) else raw.astype(str)
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
        unparsed = parsed.isna().to_numpy()
        if unparsed.any():
            position = int(np.flatnonzero(unparsed)[0])
            fail(position, f"cannot read timestamp {_shown(raw.iloc[position])}")
    beyond = ((parsed < EARLIEST) | (parsed > LATEST)).to_numpy()
    if beyond.any():
        position = int(np.flatnonzero(beyond)[0])
        fail(
            position,
            f"timestamp {parsed.iloc[position]} is outside what the store can hold "
            f"({EARLIEST:%Y-%m-%d %H:%M:%S} to {LATEST:%Y-%m-%d %H:%M:%S} UTC)",
        )
    return parsed.dt.as_unit("ns")


def _shown(value: object) -> str:
    """A cell as the user wrote it: '2024-13-01' for text, 1704153600000000 for a number."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _from_epoch(raw: pd.Series, numbers: pd.Series, fail: Callable[[int, str], NoReturn]) -> pd.Series:
    values = numbers.to_numpy(dtype=np.float64)
    unit_of = np.full(len(values), "", dtype=object)
    for name, (_, low, high) in EPOCH_UNITS.items():
        unit_of[(values >= low) & (values < high)] = name
    outside = np.flatnonzero(unit_of == "")
    if len(outside):
        position = int(outside[0])
        fail(position, f"{_shown(raw.iloc[position])} is not an unambiguous epoch time: {EPOCH_RULE}")
    differs = np.flatnonzero(unit_of != unit_of[0])
    if len(differs):
        position = int(differs[0])
        fail(position, f"{_shown(raw.iloc[position])} is epoch {unit_of[position]}, but the first row holds epoch {unit_of[0]}")
    return pd.to_datetime(numbers, unit=EPOCH_UNITS[unit_of[0]][0], utc=True)


def parse_utc(text: str) -> pd.Timestamp | None:
    """`text` (a date, or a time with or without its zone) as a time in UTC, a naive one taken as
    UTC; None when it is not a time."""
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        return None
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
