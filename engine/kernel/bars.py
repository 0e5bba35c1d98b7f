"""The bar panel: aligned OHLCV arrays for one or more symbols over consecutive timestamps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

PRICE_FIELDS = ("open", "high", "low", "close")
FIELDS = (*PRICE_FIELDS, "volume")
EXCHANGE_ZONE = "America/New_York"  # where the market's days are counted: sessions, daily bars, daily limits


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class Bars:
    """OHLCV for `symbols` (columns) over `timestamps` (rows, UTC, datetime64[ns]).

    Arrays are read-only so a chunk handed to one stage cannot be changed under another.
    """

    timestamps: np.ndarray
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.timestamps), len(self.symbols))
        object.__setattr__(self, "timestamps", _frozen(self.timestamps.astype("datetime64[ns]", copy=False)))
        for field in FIELDS:
            array = np.asarray(getattr(self, field), dtype=np.float64)
            if array.shape != shape:
                raise ValueError(f"Bars.{field} has shape {array.shape}, expected {shape}")
            object.__setattr__(self, field, _frozen(array))

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.timestamps), len(self.symbols)

    def slice(self, start: int, stop: int) -> Bars:
        """Rows [start, stop): views, no copies (nor checks: rows of read-only arrays are read-only too)."""
        part = object.__new__(Bars)
        object.__setattr__(part, "timestamps", self.timestamps[start:stop])
        object.__setattr__(part, "symbols", self.symbols)
        for field in FIELDS:
            object.__setattr__(part, field, getattr(self, field)[start:stop])
        return part

    def column(self, index: int) -> Bars:
        """The one-symbol panel of column `index` (copies: a column of the panel is not contiguous)."""
        take = slice(index, index + 1)
        return Bars(self.timestamps, self.symbols[take], *(getattr(self, field)[:, take] for field in FIELDS))

    def chunks(self, size: int | None):
        """Consecutive chunks of `size` rows (the whole panel when size is None)."""
        step = len(self) if size is None else size
        if step < 1:
            raise ValueError(f"chunk size must be at least 1, got {size}")
        for start in range(0, len(self), step):
            yield self.slice(start, start + step)

    def index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.timestamps, tz="UTC")

    def frame(self, field: str) -> pd.DataFrame:
        return pd.DataFrame(getattr(self, field), index=self.index(), columns=list(self.symbols))

    def fingerprint(self) -> str:
        """SHA-256 over symbols, timestamps and every field: identifies exactly the data a run used."""
        digest = hashlib.sha256()
        digest.update("\0".join(self.symbols).encode())
        digest.update(self.timestamps)  # the arrays' own buffers (contiguous): no copy of the panel as bytes
        for field in FIELDS:
            digest.update(getattr(self, field))
        return digest.hexdigest()

    @staticmethod
    def concat(parts: list[Bars]) -> Bars:
        """The parts one after another: a single part is itself (its arrays are read-only), not a copy."""
        if len(parts) == 1:
            return parts[0]
        symbols = parts[0].symbols
        if any(part.symbols != symbols for part in parts):
            raise ValueError("cannot concatenate bars over different symbols")
        return Bars(
            np.concatenate([part.timestamps for part in parts]),
            symbols,
            *(np.concatenate([getattr(part, field) for part in parts]) for field in FIELDS),
        )
