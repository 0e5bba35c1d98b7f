"""Ensembles: several models trained walk-forward on one fold plan, their probabilities averaged per fold.

Each member is a model of its own (its plugin, lookback, features, hyperparameters, seed), trained
and kept in the model store as any model's folds are; the members share the ensemble's labels and
walk-forward, and one fold plan, from the latest of their first usable bars, so that fold k of
every member predicts the same block. A block's weights come from what was known before it:
`equal`, the given numbers, or each member's F1 or Sharpe ratio on fold k's validation window
(the end of its training window, which it was not fitted on; engine.models.walkforward), made
non-negative and normalized (all equal when no member scores above 0). A deployed ensemble's
members retrain together on the schedule, and each new fold is weighted the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine import progress
from engine.kernel.bars import Bars
from engine.models.ensemble_setup import EnsembleSetup
from engine.models.store import ModelStore
from engine.models.walkforward import FOLD_BOUNDS, TrainedFold, WalkForward, block_metrics, first_usable_row, train_walk_forward


@dataclass
class EnsembleWalkForward:
    """The members' walk-forwards over the same bars and folds, and the ensemble's output over them."""

    setup: EnsembleSetup
    members: list[WalkForward]
    bars: Bars
    predictions: np.ndarray  # the weighted probability, NaN outside the prediction blocks
    labels: np.ndarray

    plugin = "ensemble"

    @property
    def first_prediction_row(self) -> int:
        return self.members[0].first_prediction_row

    @property
    def folds(self) -> list[TrainedFold]:
        """The shared plan's folds, as the first member trained them (every member's cover the same bars)."""
        return self.members[0].folds

    def deployed_to(self, store: ModelStore, retrains: bool) -> EnsembleWalkForward:
        """Every member's folds deployed (WalkForward.deployed_to): members retrain together, each new
        block weighted from its folds' validation windows as the walk-forward's were."""
        return replace(self, members=[member.deployed_to(store, retrains) for member in self.members])

    def fold_weights(self, index: int) -> np.ndarray:
        return self.setup.weights([member.folds[index] for member in self.members])

    def fold_metrics(self) -> list[dict]:
        """Each block's out-of-sample metrics of the ensemble, its members' weights, and each member's
        own metrics (as a model's walk-forward reports them)."""
        members = [member.fold_metrics() for member in self.members]
        records = []
        for index, first in enumerate(members[0]):
            weights = self.fold_weights(index)
            records.append(
                {
                    **{name: first[name] for name in FOLD_BOUNDS},
                    "reused": all(member[index]["reused"] for member in members),
                    **block_metrics(self.predictions, self.labels, self.folds[index].fold),
                    "weights": dict(zip(self.setup.names, map(float, weights), strict=True)),
                    "members": {name: member[index] for name, member in zip(self.setup.names, members, strict=True)},
                }
            )
        return records


def shared_first_row(setup: EnsembleSetup, bars: Bars) -> int:
    """Where the members' shared fold plan starts: the latest of their first usable bars."""
    return max(first_usable_row(member, bars) for member in setup.members.values())


def train_ensemble(
    setup: EnsembleSetup, bars: Bars, store: ModelStore, on_fold: Callable[[TrainedFold], None] | None = None
) -> EnsembleWalkForward:
    """Every member's folds, trained or reused, on the shared plan; the ensemble's probability over the bars."""
    from engine.signals.ensemble import EnsembleProbability

    first_row = shared_first_row(setup, bars)
    members = []
    for name, member in setup.members.items():
        progress.stage(f"ensemble member {name}")
        members.append(train_walk_forward(member, bars, store, on_fold, first_row))
    walk_forward = EnsembleWalkForward(setup, members, bars, np.empty(0), members[0].labels)
    predicted = np.any([np.isfinite(member.predictions) for member in members], axis=0)  # where any member predicts
    walk_forward.predictions = np.where(predicted, EnsembleProbability(walk_forward).on_chunk(bars), np.nan)
    return walk_forward
