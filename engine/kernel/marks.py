"""The books' marks: cash and positions at each bar's close, in arrays that grow as bars are marked."""

from __future__ import annotations

import numpy as np


class Marks:
    """Per-bar timestamps, cash and shares held per symbol, growing geometrically so that marking
    bar by bar stays linear."""

    def __init__(self, n_symbols: int) -> None:
        self.length = 0
        self.timestamps = np.empty(0, dtype="datetime64[ns]")
        self.cash = np.empty(0)
        self.positions = np.empty((0, n_symbols))

    def extend(self, timestamps: np.ndarray) -> slice:
        """Room for `timestamps`, the next bars; the rows they take, for their cash and positions."""
        start, end = self.length, self.length + len(timestamps)
        if end > len(self.cash):
            capacity = max(end, 2 * len(self.cash))
            self.timestamps, self.cash, self.positions = (
                _grown(a, capacity) for a in (self.timestamps, self.cash, self.positions)
            )
        self.timestamps[start:end] = timestamps
        self.length = end
        return slice(start, end)

    def last(self, initial_cash: float) -> tuple[float, np.ndarray]:
        """Cash and positions at the last marked close (the initial cash and nothing before any)."""
        if not self.length:
            return initial_cash, np.zeros(self.positions.shape[1])
        return float(self.cash[self.length - 1]), self.positions[self.length - 1]

    def rows_of(self, timestamps: np.ndarray) -> np.ndarray:
        """The marked bar each timestamp belongs to: the last at or before it (-1 when before all)."""
        return np.searchsorted(self.timestamps[: self.length], timestamps, side="right") - 1


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
