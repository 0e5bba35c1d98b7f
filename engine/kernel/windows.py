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
    """Each column's window summed row by row in order; the rows' adds run across the columns at
    once (independent sums, so the order within each column, and so every bit, is kept)."""
    rows, columns = values.shape
    out = np.full((rows - start, columns), np.nan)
    totals, squares = np.empty(columns), np.empty(columns)
    for t in range(max(start, window - 1), rows):
        first = t - window + 1
        if statistic == _RANK:
            for column in range(columns):
                out[t - start, column] = _rank(values[first : t + 1, column])
            continue
        totals[:] = 0.0
        for row in range(first, t + 1):
            for column in range(columns):
                totals[column] += values[row, column]
        means = totals / window
        if statistic == _MEAN:
            out[t - start] = means
            continue
        squares[:] = 0.0
        for row in range(first, t + 1):
            for column in range(columns):
                squares[column] += (values[row, column] - means[column]) ** 2
        out[t - start] = np.sqrt(squares / (window - 1))
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
    """Keeps the last `count` rows seen, so a stage can prepend them to the next chunk.

    The rows live in a buffer with room after them: a chunk is copied in behind the kept rows, and
    the kept rows move back to the buffer's start only when the room runs out, so a replay bar by
    bar copies each bar about once instead of the whole history at every bar.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._buffer: np.ndarray | None = None
        self._start = self._end = 0  # the kept rows: buffer[start:end]

    def extend(self, chunk: np.ndarray) -> tuple[np.ndarray, int]:
        """Return (history + chunk, number of history rows), then remember the new tail. What is
        returned is read-only and valid until the next call."""
        if self._buffer is None:  # the first chunk: nothing to prepend, nothing to copy but its tail
            self._buffer = np.empty((2 * self.count + 8, *chunk.shape[1:]), dtype=chunk.dtype)
            self._keep_tail(chunk)
            return chunk, 0
        history = self._end - self._start
        if self._end + len(chunk) > len(self._buffer):
            buffer = self._buffer
            if history + len(chunk) > len(buffer):
                buffer = np.empty((2 * (history + len(chunk)), *chunk.shape[1:]), dtype=self._buffer.dtype)
            buffer[:history] = self._buffer[self._start : self._end]
            self._buffer, self._start, self._end = buffer, 0, history
        end = self._end + len(chunk)
        self._buffer[self._end : end] = chunk
        joined = self._buffer[self._start : end]
        self._start, self._end = max(end - self.count, self._start), end
        joined = joined.view()
        joined.setflags(write=False)
        return joined, history

    def _keep_tail(self, rows: np.ndarray) -> None:
        kept = rows[max(len(rows) - self.count, 0) :] if self.count else rows[:0]
        self._buffer[: len(kept)] = kept
        self._start, self._end = 0, len(kept)
