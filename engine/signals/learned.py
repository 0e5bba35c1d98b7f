"""The signal stage of a learned signal's walk-forward: a model's (combined or individual), or an ensemble's."""

from __future__ import annotations

from engine.models.ensemble import EnsembleWalkForward
from engine.models.individual import IndividualWalkForward
from engine.models.walkforward import WalkForward
from engine.signals.ensemble import EnsembleProbability
from engine.signals.individual import IndividualProbability
from engine.signals.model import ModelProbability

LearnedStage = ModelProbability | IndividualProbability | EnsembleProbability


def learned_stage(walk_forward: WalkForward | IndividualWalkForward | EnsembleWalkForward) -> LearnedStage:
    """A fresh stage (no state carried from another run) predicting with the walk-forward's folds."""
    if isinstance(walk_forward, WalkForward):
        return ModelProbability(walk_forward)
    if isinstance(walk_forward, IndividualWalkForward):
        return IndividualProbability(walk_forward)
    return EnsembleProbability(walk_forward)
