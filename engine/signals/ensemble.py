"""The ensemble signal stage: each member's model stage, their probabilities weighted per fold.

The members' stages run as a model's stage runs (they retrain on the schedule once deployed, each
into its own next fold); a bar's probability is the weighted sum, in the members' order, of their
probabilities, with the weights of the fold that predicts it (engine.models.ensemble), and 0
before the first block, as a model's.
"""

from __future__ import annotations

import numpy as np

from engine.kernel.bars import Bars
from engine.models.ensemble import EnsembleWalkForward
from engine.signals.model import ModelProbability


class EnsembleProbability:
    tolerance = ModelProbability.tolerance  # its members' outputs may move this much between chunk sizes

    def __init__(self, walk_forward: EnsembleWalkForward) -> None:
        self.name = "model:ensemble"
        self.walk_forward = walk_forward
        self.members = [ModelProbability(member) for member in walk_forward.members]

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        return self.with_members(bars)[0]

    def with_members(self, bars: Bars) -> tuple[np.ndarray, list[np.ndarray]]:
        """The ensemble's probabilities over the chunk, and each member's own (in the members' order)."""
        outputs = [member.on_chunk(bars) for member in self.members]
        fold_of_row = self.members[0].fold_of(bars.timestamps)
        probabilities = np.zeros(bars.shape)
        for fold_index in np.unique(fold_of_row[fold_of_row >= 0]):
            rows = fold_of_row == fold_index
            folds = [member.folds[fold_index] for member in self.members]
            for weight, output in zip(self.walk_forward.setup.weights(folds), outputs, strict=True):
                probabilities[rows] += weight * output[rows]
        return probabilities, outputs
