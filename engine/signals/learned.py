"""The signal stage of a learned signal's walk-forward: a model's, or an ensemble's."""

from __future__ import annotations

from engine.models.ensemble import EnsembleWalkForward
from engine.models.walkforward import WalkForward
from engine.signals.ensemble import EnsembleProbability
from engine.signals.model import ModelProbability


def learned_stage(walk_forward: WalkForward | EnsembleWalkForward) -> ModelProbability | EnsembleProbability:
    """A fresh stage (no state carried from another run) predicting with the walk-forward's folds."""
    return ModelProbability(walk_forward) if isinstance(walk_forward, WalkForward) else EnsembleProbability(walk_forward)
