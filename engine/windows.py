"""Windowed quantities computed from their own window only.

A running sum carries rounding from the start of the series, so its value at bar t depends on
where the series (or the chunk) began. Summing each window on its own, in one fixed order, gives
bit-identical results whatever the chunk size: the chunk-invariance contract (DESIGN §2).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _trailing_mean(values: np.ndarray, window: int, start: int) -> np.ndarray:
    rows, columns = values.shape
    out = np.full((rows - start, columns), np.nan)
    for t in range(max(start, window - 1), rows):
        for column in range(columns):
            total = 0.0
            for k in range(t - window + 1, t + 1):
                total += values[k, column]
            out[t - start, column] = total / window
    return out


def trailing_mean(values: np.ndarray, window: int, start: int = 0) -> np.ndarray:
    """Mean of the trailing `window` rows for each row from `start` on, per column; NaN until a
    full window exists. Rows before `start` serve only as history."""
    return _trailing_mean(np.ascontiguousarray(values, dtype=np.float64), int(window), int(start))


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


@njit(cache=True)
def _trailing_std(values: np.ndarray, window: int, start: int) -> np.ndarray:
    rows, columns = values.shape
    out = np.full((rows - start, columns), np.nan)
    for t in range(max(start, window - 1), rows):
        for column in range(columns):
            total = 0.0
            for k in range(t - window + 1, t + 1):
                total += values[k, column]
            mean = total / window
            squares = 0.0
            for k in range(t - window + 1, t + 1):
                squares += (values[k, column] - mean) ** 2
            out[t - start, column] = np.sqrt(squares / (window - 1))
    return out


def trailing_std(values: np.ndarray, window: int, start: int = 0) -> np.ndarray:
    """Sample standard deviation of the trailing `window` rows, like `trailing_mean`."""
    return _trailing_std(np.ascontiguousarray(values, dtype=np.float64), int(window), int(start))


@njit(cache=True)
def _trailing_rank(values: np.ndarray, window: int, start: int) -> np.ndarray:
    rows, columns = values.shape
    out = np.full((rows - start, columns), np.nan)
    for t in range(max(start, window - 1), rows):
        for column in range(columns):
            current = values[t, column]
            if np.isnan(current):
                continue
            below = 0
            count = 0
            for k in range(t - window + 1, t + 1):
                if not np.isnan(values[k, column]):
                    count += 1
                    if values[k, column] <= current:
                        below += 1
            out[t - start, column] = below / count
    return out


def trailing_rank(values: np.ndarray, window: int, start: int = 0) -> np.ndarray:
    """Share of the trailing `window` rows (NaN ignored) at or below each row's value: its percentile."""
    return _trailing_rank(np.ascontiguousarray(values, dtype=np.float64), int(window), int(start))
