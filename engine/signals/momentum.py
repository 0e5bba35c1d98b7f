from __future__ import annotations

import numpy as np

from engine.kernel.bars import Bars
from engine.kernel.windows import TrailingRows


class Momentum:
    """Each symbol's return over the last `window` bars, a score to rank by (0 until a full window:
    every symbol ties, which ranks nothing)."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.name = f"momentum({window})"
        self._closes = TrailingRows(window)

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        closes, history = self._closes.extend(bars.close)
        scores = np.zeros(closes.shape)
        scores[self.window :] = closes[self.window :] / closes[: -self.window] - 1.0
        return scores[history:]
