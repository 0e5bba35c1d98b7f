from __future__ import annotations

import numpy as np

from engine.kernel.bars import Bars
from engine.kernel.windows import TrailingRows, trailing_mean


class SmaCross:
    """Long, equal weight across symbols, while the fast SMA of the close is above the slow SMA."""

    def __init__(self, fast: int, slow: int) -> None:
        self.fast, self.slow = fast, slow
        self.name = f"sma_cross({fast},{slow})"
        self._closes = TrailingRows(slow - 1)

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        closes, history = self._closes.extend(bars.close)
        fast = trailing_mean(closes, self.fast, start=history)
        slow = trailing_mean(closes, self.slow, start=history)
        long = fast > slow  # False while either window is incomplete (NaN)
        return long / len(bars.symbols)
