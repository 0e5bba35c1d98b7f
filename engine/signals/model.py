"""The model signal stage: features, then each bar's out-of-sample probability from the fold
trained for it. Before the first prediction block the probability is 0 (no position).

Past the end of its walk-forward history the model is deployed: the last fold keeps predicting,
and (unless the walk-forward says it does not retrain: a release's may keep its deployed model)
every `predict_bars` bars after that fold's first the model retrains on the bars it has seen,
as the walk-forward would have (same training window, purge and seed), and the new fold takes
over. A retraining is decided by bar count alone and trains only on bars before the new block
(and its first bar, whose label is unknown), so chunk invariance holds here too. The stage must be
fed from the first bar of the walk-forward's history: it counts bars to keep that schedule.
"""

from __future__ import annotations

import numpy as np

from engine.features.dataset import FeatureWindow, sequences
from engine.kernel.bars import Bars
from engine.kernel.windows import TrailingRows
from engine.models.walkforward import TrainedFold, WalkForward, predict_rows


class ModelProbability:
    # Probabilities may differ this much between chunk sizes: network kernels round differently
    # by batch size, and rolling features by where their window starts (DESIGN §2).
    tolerance = 1e-5

    def __init__(self, walk_forward: WalkForward) -> None:
        self.name = f"model:{walk_forward.plugin}"
        self.lookback = walk_forward.lookback
        self.walk_forward = walk_forward
        self.folds: list[TrainedFold] = list(walk_forward.folds)
        index = walk_forward.bars.timestamps
        self._starts = [index[f.fold.predict_start] for f in self.folds]
        self._features = FeatureWindow(walk_forward.features)
        self._rows = TrailingRows(self.lookback - 1)
        self._seen: list[Bars] = []  # every bar pushed, for retraining
        self._rows_seen = 0

    def on_chunk(self, bars: Bars, weights: np.ndarray | None = None, signal: np.ndarray | None = None) -> np.ndarray:
        self._retrain_within(bars)
        features, history = self._rows.extend(self._features.on_chunk(bars))
        probabilities = np.zeros(bars.shape)
        fold_of_row = np.searchsorted(np.array(self._starts), bars.timestamps, side="right") - 1
        for fold_index in np.unique(fold_of_row[fold_of_row >= 0]):
            local = np.flatnonzero(fold_of_row == fold_index)
            rows = np.repeat(local + history, len(bars.symbols))
            columns = np.tile(np.arange(len(bars.symbols)), len(local))
            usable = rows >= self.lookback - 1
            windows = sequences(features, rows[usable], columns[usable], self.lookback)
            usable[usable] = np.isfinite(windows).all(axis=(1, 2))
            trained = self.folds[fold_index]
            values = predict_rows(trained.model, trained.scaler, features, rows[usable], columns[usable], self.lookback)
            probabilities[rows[usable] - history, columns[usable]] = values
        return probabilities

    def _retrain_within(self, bars: Bars) -> None:
        """Train every scheduled fold whose block starts inside this chunk, in order."""
        first_row = self._rows_seen
        if first_row == 0 and bars.timestamps[0] != self.walk_forward.bars.timestamps[0]:
            raise ValueError(f"{self.name} must be fed from the first bar of its walk-forward history")
        self._rows_seen += len(bars)
        if not self.walk_forward.retrains:
            return  # the deployed model predicts every later bar (a release that says so)
        self._seen.append(bars)
        schedule = self.walk_forward.setup.signal.walk_forward.predict_bars
        while (start := self.folds[-1].fold.predict_start + schedule) < self._rows_seen:
            self._seen = [Bars.concat(self._seen)]
            history = self._seen[0].slice(0, start + 1)
            self.folds.append(self.walk_forward.retrain(history, self.folds[-1].fold))
            self._starts.append(history.timestamps[start])
