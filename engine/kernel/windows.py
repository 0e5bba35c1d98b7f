"""Windowed quantities computed from their own window only.

A running sum carries rounding from the start of the series, so its value at bar t depends on
where the series (or the chunk) began. Summing each window on its own, in one fixed order, gives
bit-identical results whatever the chunk size: the chunk-invariance contract (DESIGN §2).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MEAN, _STD, _RANK = 0, 1, 2


@njit(cache=True)
def _mean(window: np.ndarray) -> float:
    total = 0.0
    for value in window:
        total += value
    return total / len(window)


@njit(cache=True)
def _std(window: np.ndarray) -> float:
    mean = _mean(window)
    squares = 0.0
    for value in window:
        squares += (value - mean) ** 2
    return np.sqrt(squares / (len(window) - 1))


@njit(cache=True)
def _rank(window: np.ndarray) -> float:
    """Share of the window's non-NaN values at or below its last value (NaN if that is NaN)."""
    current = window[-1]
    if np.isnan(current):
        return np.nan
    below = count = 0
    for value in window:
        if not np.isnan(value):
            count += 1
            below += value <= current
    return below / count


@njit(cache=True)
def _trailing(values: np.ndarray, window: int, start: int, statistic: int) -> np.ndarray:
    rows, columns = values.shape
    out = np.full((rows - start, columns), np.nan)
    for t in range(max(start, window - 1), rows):
        for column in range(columns):
            rows_in_window = values[t - window + 1 : t + 1, column]
            if statistic == _MEAN:
                out[t - start, column] = _mean(rows_in_window)
            elif statistic == _STD:
                out[t - start, column] = _std(rows_in_window)
            else:
                out[t - start, column] = _rank(rows_in_window)
    return out


def _apply(values: np.ndarray, window: int, start: int, statistic: int) -> np.ndarray:
    return _trailing(np.ascontiguousarray(values, dtype=np.float64), int(window), int(start), statistic)


def trailing_mean(values: np.ndarray, window: int, start: int = 0) -> np.ndarray:
    """Mean of the trailing `window` rows for each row from `start` on, per column; NaN until a
    full window exists. Rows before `start` serve only as history."""
    return _apply(values, window, start, _MEAN)


def trailing_std(values: np.ndarray, window: int, start: int = 0) -> np.ndarray:
    """Sample standard deviation of the trailing `window` rows, like `trailing_mean`."""
    return _apply(values, window, start, _STD)


def trailing_rank(values: np.ndarray, window: int, start: int = 0) -> np.ndarray:
    """Share of the trailing `window` rows (NaN ignored) at or below each row's value: its percentile."""
    return _apply(values, window, start, _RANK)


class TrailingRows:
    """Keeps the last `count` rows seen, so a stage can prepend them to the next chunk."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._rows: np.ndarray | None = None

    def extend(self, chunk: np.ndarray) -> tuple[np.ndarray, int]:
        """Return (history + chunk, number of history rows), then remember the new tail."""
        joined = chunk if self._rows is None else np.concatenate([self._rows, chunk])
        history = 0 if self._rows is None else len(self._rows)
        self._rows = joined[max(len(joined) - self.count, 0) :] if self.count else joined[:0]
        return joined, history
