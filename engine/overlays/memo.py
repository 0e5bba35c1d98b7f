"""What overlay stages derive from bars alone (moving averages, volatility windows, GARCH forecasts),
kept in memory for runs that replay the same bars with other settings: an overlay-only study's
trials (engine.optimize.overlay_trials), where these quantities are the same in every trial and
cost most of its backtest.

An entry is found by the stage's own key (what it computes, with every setting it depends on)
and a digest of the arrays it computes from, so a hit is the value the stage would compute itself,
whatever the chunk or the history before it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

import numpy as np

Value = TypeVar("Value")


class StageMemo:
    def __init__(self) -> None:
        self._values: dict[tuple, object] = {}
        self._last: tuple[np.ndarray, bytes] | None = None  # the last read-only array digested, with its digest
        self.hits = 0

    def _digest(self, array: np.ndarray) -> bytes:
        """The array's digest; the stages of one run pass the same chunk's (read-only) closes, digested once."""
        if self._last is not None and self._last[0] is array and not array.flags.writeable:
            return self._last[1]
        contiguous = np.ascontiguousarray(array)
        digest = hashlib.sha256(f"{contiguous.dtype.str}{contiguous.shape}".encode())  # SHA-NI: twice blake2b's speed
        digest.update(contiguous.data)
        self._last = array, digest.digest()
        return self._last[1]

    def recall(self, key: tuple, inputs: tuple[np.ndarray, ...], compute: Callable[[], Value]) -> Value:
        """The value `compute()` gave for the same `key` and inputs, or its value now, kept."""
        full_key = (*key, *(self._digest(array) for array in inputs))
        if full_key in self._values:
            self.hits += 1
        else:
            self._values[full_key] = compute()
        return self._values[full_key]


def recall(memo: StageMemo | None, key: tuple, inputs: tuple[np.ndarray, ...], compute: Callable[[], Value]) -> Value:
    """`compute()`, through `memo` where the stage was built with one."""
    return compute() if memo is None else memo.recall(key, inputs, compute)
