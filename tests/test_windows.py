"""Windowed quantities: each window summed on its own, in row order (the chunk-invariance contract),
and the trailing rows a stage prepends to each chunk."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.kernel.windows import TrailingRows, trailing_mean, trailing_std


def _sequential(window: np.ndarray) -> tuple[float, float]:
    """Mean and sample deviation of one column's window, added up row by row in Python floats."""
    total = 0.0
    for value in window:
        total += value
    mean = total / len(window)
    squares = 0.0
    for value in window:
        squares += (value - mean) ** 2
    return mean, math.sqrt(squares / (len(window) - 1))


def test_each_window_is_summed_on_its_own_in_row_order():
    random = np.random.default_rng(1)
    values = random.normal(100.0, 30.0, (80, 7)) * np.array([1e-6, 1.0, 1e6, 1.0, 1.0, 3.0, 1e3])
    values[random.random(values.shape) < 0.05] = np.nan
    means, deviations = trailing_mean(values, 20, start=10), trailing_std(values, 20, start=10)
    for t in range(10, 80):
        for column in range(7):
            expected = (np.nan, np.nan) if t < 19 else _sequential(values[t - 19 : t + 1, column])
            assert np.array_equal([means[t - 10, column], deviations[t - 10, column]], expected, equal_nan=True)


@pytest.mark.parametrize("count", [0, 1, 5, 40])
def test_trailing_rows_prepend_exactly_the_last_rows_seen(count):
    random = np.random.default_rng(count)
    rows = random.normal(size=(400, 3))
    keeper, seen, start = TrailingRows(count), 0, 0
    while start < len(rows):
        size = int(random.choice([1, 1, 1, 2, 7, 60]))
        joined, history = keeper.extend(rows[start : start + size])
        first = max(start - count, 0)
        assert history == start - first
        assert np.array_equal(joined, rows[first : start + size])
        seen, start = seen + 1, start + size
    assert seen > 10
