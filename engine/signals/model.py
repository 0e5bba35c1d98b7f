"""The model signal stage: features, then each bar's out-of-sample probability from the fold
that was trained for it. Outside every prediction block the probability is 0 (no position)."""

from __future__ import annotations

import numpy as np

from engine.bars import Bars
from engine.features.dataset import FeatureWindow, sequences
from engine.models.walkforward import WalkForward, predict_rows
from engine.windows import TrailingRows


class ModelProbability:
    # Probabilities may differ this much between chunk sizes: network kernels round differently
    # by batch size, and rolling features by where their window starts (DESIGN §2).
    tolerance = 1e-5

    def __init__(self, walk_forward: WalkForward) -> None:
        self.name = f"model:{walk_forward.plugin}"
        self.plugin, self.lookback = walk_forward.plugin, walk_forward.lookback
        self.folds = walk_forward.folds
        index = walk_forward.bars.timestamps
        self._starts = np.array([index[f.fold.predict_start] for f in self.folds])
        self._ends = np.array([index[f.fold.predict_end - 1] for f in self.folds])
        self._features = FeatureWindow(walk_forward.features)
        self._rows = TrailingRows(self.lookback - 1)

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        features, history = self._rows.extend(self._features.on_chunk(bars))
        probabilities = np.zeros(bars.shape)
        fold_of_row = np.searchsorted(self._starts, bars.timestamps, side="right") - 1
        in_block = (fold_of_row >= 0) & (bars.timestamps <= self._ends[np.maximum(fold_of_row, 0)])
        for fold_index in np.unique(fold_of_row[in_block]):
            local = np.flatnonzero(in_block & (fold_of_row == fold_index))
            rows = np.repeat(local + history, len(bars.symbols))
            columns = np.tile(np.arange(len(bars.symbols)), len(local))
            usable = rows >= self.lookback - 1
            windows = sequences(features, rows[usable], columns[usable], self.lookback)
            usable[usable] = np.isfinite(windows).all(axis=(1, 2))
            trained = self.folds[fold_index]
            values = predict_rows(
                self.plugin, trained.model, trained.scaler, features, rows[usable], columns[usable], self.lookback
            )
            probabilities[rows[usable] - history, columns[usable]] = values
        return probabilities
