from __future__ import annotations

import numpy as np

from engine.kernel.bars import Bars


class BuyAndHold:
    """Equal weight in every symbol on every bar."""

    name = "buy_and_hold"

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        return np.full(bars.shape, 1.0 / len(bars.symbols))
