"""A signal stage that replays probabilities computed before (a model's, cached), whatever the chunking.

It imports no model code: a replay needs no torch."""

from __future__ import annotations

import numpy as np

from engine.kernel.bars import Bars


class ReplayedProbabilities:
    """A signal stage that replays cached probabilities, row by row, whatever the chunking."""

    def __init__(self, name: str, probabilities: np.ndarray) -> None:
        self.name = name
        self._probabilities = probabilities
        self._row = 0

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        rows = self._probabilities[self._row : self._row + len(bars)]
        self._row += len(bars)
        return rows.copy()
