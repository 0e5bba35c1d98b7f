"""The prediction cache: a model's walk-forward probabilities over some bars, computed once per model
configuration and replayed by every run that changes only what comes after the model (overlays).

    models/predictions/<key>.npy    probabilities, one row per bar, one column per symbol
    models/predictions/<key>.json   the first predicted row and the folds' out-of-sample metrics
    models/predictions/<key>.members.npy   an ensemble's: each member's own probabilities (members, bars,
                                           symbols), what `--ablation` trades alone, named in the .json

The key hashes the model's description (plugin and version, hyperparameters, features, lookback,
labels, walk-forward, seed) and the bars' fingerprint. The probabilities are what the model stage
outputs over the whole history in one chunk, so a replay gives a backtest identical to the one that
runs the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.kernel.bars import Bars
from engine.models.ensemble import EnsembleWalkForward
from engine.models.ensemble_setup import EnsembleSetup
from engine.models.individual import IndividualWalkForward
from engine.models.store import ModelStore, fold_key
from engine.models.walkforward import ModelSetup, WalkForward
from engine.signals.ensemble import EnsembleProbability
from engine.signals.learned import learned_stage
from engine.stores.files import atomic_write


@dataclass(frozen=True)
class CachedPredictions:
    probabilities: np.ndarray
    first_prediction_row: int
    fold_metrics: list[dict]
    members: dict[str, np.ndarray] = field(default_factory=dict)  # an ensemble's: each member's own probabilities


def predictions_of(
    walk_forward: WalkForward | IndividualWalkForward | EnsembleWalkForward, bars: Bars | None = None
) -> CachedPredictions:
    """The signal stage's output over `bars` (default: the walk-forward's history) in one chunk, and
    an ensemble's members' outputs beside it."""
    bars = walk_forward.bars if bars is None else bars
    members = {}
    if isinstance(walk_forward, EnsembleWalkForward):
        probabilities, outputs = EnsembleProbability(walk_forward).with_members(bars)
        members = dict(zip(walk_forward.setup.names, outputs, strict=True))
    else:
        probabilities = learned_stage(walk_forward).on_chunk(bars)
    return CachedPredictions(probabilities, walk_forward.first_prediction_row, walk_forward.fold_metrics(), members)


class PredictionCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._memory: dict[str, CachedPredictions] = {}
        self.computed = 0  # how many lookups had to run the model (for progress and benchmarks)

    @classmethod
    def in_store(cls, models: ModelStore) -> PredictionCache:
        """The cache beside the trained folds, in `models/predictions/`."""
        return cls(models.root / "predictions")

    def key(self, setup: ModelSetup | EnsembleSetup, bars: Bars) -> str:
        return fold_key({**setup.description(), "bars": bars.fingerprint()})

    def get(
        self, setup: ModelSetup | EnsembleSetup, bars: Bars, walk_forward: Callable[[], WalkForward | EnsembleWalkForward]
    ) -> CachedPredictions:
        """The cached predictions, or `walk_forward()`'s (trained or reused folds) run once and stored."""
        key = self.key(setup, bars)
        if key not in self._memory:
            self._memory[key] = self._read(key, ensemble=isinstance(setup, EnsembleSetup)) or self._compute(key, walk_forward())
        return self._memory[key]

    def _read(self, key: str, ensemble: bool) -> CachedPredictions | None:
        """The stored predictions; None when absent, or damaged on disk, or an ensemble's stored
        without its members' (then computed and stored again)."""
        try:
            summary = json.loads((self.root / f"{key}.json").read_text())
            probabilities = np.load(self.root / f"{key}.npy")
            names = summary["members"] if ensemble else []
            members = dict(zip(names, np.load(self.root / f"{key}.members.npy"), strict=True)) if names else {}
            return CachedPredictions(probabilities, summary["first_prediction_row"], summary["fold_metrics"], members)
        except (OSError, EOFError, ValueError, KeyError, TypeError):
            return None

    def _compute(self, key: str, walk_forward: WalkForward | EnsembleWalkForward) -> CachedPredictions:
        self.computed += 1
        cached = predictions_of(walk_forward)
        # The .json is written last: a key with a .json has its whole .npy (each file renamed into place).
        atomic_write(self.root / f"{key}.npy", lambda tmp: _save_array(tmp, cached.probabilities))
        if cached.members:
            atomic_write(self.root / f"{key}.members.npy", lambda tmp: _save_array(tmp, np.stack(list(cached.members.values()))))
        summary = {"first_prediction_row": cached.first_prediction_row, "fold_metrics": cached.fold_metrics}
        summary |= {"members": list(cached.members)} if cached.members else {}
        atomic_write(self.root / f"{key}.json", lambda tmp: Path(tmp).write_text(json.dumps(summary)))
        return cached


def _save_array(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as handle:  # through a handle: np.save would add ".npy" to the name
        np.save(handle, array)
