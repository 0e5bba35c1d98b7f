"""The signal stage of an individual-scope model: each symbol's model stage over that symbol's bars alone.

Each symbol's stage runs as a model's stage runs (engine.signals.model: it keeps its own feature
window and, once deployed, retrains its own model on the schedule), fed the chunk's column of its
symbol; their probabilities are put side by side, in the symbols' order.
"""

from __future__ import annotations

import numpy as np

from engine.kernel.bars import Bars
from engine.models.individual import IndividualWalkForward
from engine.signals.model import ModelProbability


class IndividualProbability:
    tolerance = ModelProbability.tolerance  # each symbol's output may move this much between chunk sizes

    def __init__(self, walk_forward: IndividualWalkForward) -> None:
        self.name = f"model:{walk_forward.plugin}"
        self.walk_forward = walk_forward
        self.symbols = [ModelProbability(symbol) for symbol in walk_forward.symbols]

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        return np.hstack([stage.on_chunk(bars.column(column)) for column, stage in enumerate(self.symbols)])
