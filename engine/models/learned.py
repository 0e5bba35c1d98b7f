"""A learned signal, one model's (combined, or one per symbol) or an ensemble's: resolved, trained
walk-forward, and its fold keys.

Everything that trains or reuses a strategy's folds goes through here, so a model and an ensemble
of models are prepared, cached, released and pruned alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.features.base import FeatureContext
from engine.models.ensemble_setup import EnsembleSetup
from engine.models.setup import ModelSetup
from engine.plugins.registry import PluginRegistry
from engine.strategies.schema import EnsembleSignal, ModelSignal

if TYPE_CHECKING:  # training imports torch: resolving a strategy must not
    from engine.kernel.bars import Bars
    from engine.models.ensemble import EnsembleWalkForward
    from engine.models.individual import IndividualWalkForward
    from engine.models.store import ModelStore
    from engine.models.walkforward import TrainedFold, WalkForward

LearnedSetup = ModelSetup | EnsembleSetup


def learned_setup(
    signal: ModelSignal | EnsembleSignal,
    plugins: PluginRegistry,
    context: FeatureContext,
    member_model: Callable[[str], ModelSignal],
) -> LearnedSetup:
    """The signal resolved against the plugins; `member_model(NAME)`: the model signal of the strategy
    an ensemble member names. Errors name the field (`signal.members[1].plugin`)."""
    if isinstance(signal, ModelSignal):
        return ModelSetup(signal, plugins, context)
    members = {}
    for position, member in enumerate(signal.members):
        try:
            model = None if member.strategy is None else member_model(member.strategy)
            members[member.label] = ModelSetup(signal.member_signal(member, model), plugins, context)
        except ValueError as error:
            raise ValueError(f"signal.members[{position}].{str(error).removeprefix('signal.')}") from None
    return EnsembleSetup(signal, members)


def train_learned(
    setup: LearnedSetup, bars: Bars, store: ModelStore, on_fold: Callable[[TrainedFold], None] | None = None
) -> WalkForward | IndividualWalkForward | EnsembleWalkForward:
    """Every fold trained or reused from the model store (each member's, for an ensemble; each
    symbol's, for an individual-scope model)."""
    from engine.models.ensemble import train_ensemble
    from engine.models.individual import train_individual
    from engine.models.walkforward import train_walk_forward

    if isinstance(setup, EnsembleSetup):
        return train_ensemble(setup, bars, store, on_fold)
    if setup.signal.scope == "individual":
        return train_individual(setup, bars, store, on_fold)
    return train_walk_forward(setup, bars, store, on_fold)


def planned_keys(setup: LearnedSetup, bars: Bars) -> list[str]:
    """The model store keys of every fold a walk-forward over `bars` trains or reuses."""
    from engine.models.ensemble import shared_first_row
    from engine.models.individual import planned_individual_keys
    from engine.models.walkforward import planned_fold_keys

    if isinstance(setup, EnsembleSetup):
        first_row = shared_first_row(setup, bars)
        return [key for member in setup.members.values() for key in planned_fold_keys(member, bars, first_row)]
    if setup.signal.scope == "individual":
        return planned_individual_keys(setup, bars)
    return planned_fold_keys(setup, bars)
