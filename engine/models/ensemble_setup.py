"""An ensemble signal resolved: its members' model setups, and how a block weighs them (engine.models.ensemble)."""

from __future__ import annotations

import numpy as np

from engine.models.setup import ModelSetup
from engine.strategies.schema import EnsembleSignal

VALIDATION_SCORES = {"validation_f1": "f1", "validation_sharpe": "sharpe"}


class EnsembleSetup:
    """An ensemble signal resolved: its members' model setups, by name."""

    def __init__(self, signal: EnsembleSignal, members: dict[str, ModelSetup]) -> None:
        self.signal, self.members = signal, members
        for setup in members.values():
            setup.scores_validation = isinstance(signal.weights, str) and signal.weights in VALIDATION_SCORES

    @property
    def names(self) -> list[str]:
        return list(self.members)

    @property
    def included(self) -> np.ndarray:
        """Which members weigh (in the members' order): a member with `include = false` weighs 0."""
        return np.array([member.include for member in self.signal.members])

    def description(self) -> dict:
        described = {
            "ensemble": {name: setup.description() for name, setup in self.members.items()},
            "weights": self.signal.weights,
        }
        excluded = [name for name, included in zip(self.names, self.included, strict=True) if not included]
        return described | ({"excluded": excluded} if excluded else {})  # as before where every member weighs

    def feature_inputs(self) -> dict[str, str]:
        """The members' (engine.models.setup), each provider's named after its member."""
        return {
            f"{name}.{provider}": value
            for name, setup in self.members.items()
            for provider, value in setup.feature_inputs().items()
        }

    def weights(self, folds: list) -> np.ndarray:
        """The members' weights for a block, from their folds for it (in the members' order); equal
        among the included members when none scores above 0."""
        weighting = self.signal.weights
        if isinstance(weighting, list):
            scores = np.array(weighting, dtype=float)
        elif weighting == "equal":
            scores = np.ones(len(folds))
        else:
            scores = np.array([max(fold.validation[VALIDATION_SCORES[weighting]], 0.0) for fold in folds])
        scores, included = scores * self.included, self.included
        return scores / scores.sum() if scores.sum() > 0 else included / included.sum()
