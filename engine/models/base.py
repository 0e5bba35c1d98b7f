"""The model plugin contract.

A model turns sequences of features, shape (n, lookback, features), plus an asset id per
sequence, into the probability that the label is 1. Torch models subclass `TorchModel` and only
build their network; anything else subclasses `Model` and provides fit, predict, save and load.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Dataset:
    sequences: np.ndarray  # float32 (n, lookback, features), scaled
    assets: np.ndarray  # int64 (n,)
    labels: np.ndarray  # float32 (n,) of 0.0 / 1.0

    def __len__(self) -> int:
        return len(self.labels)


def _same_kind(value: Any, default: Any) -> bool:
    """Whether `value` may stand where the plugin declared `default`: of its type, an int where a
    float is (a float must be finite), never a bool for a number; a default of None takes anything."""
    if default is None:
        return True
    if isinstance(default, bool) or not isinstance(default, Real):
        return type(value) is type(default)
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    return isinstance(value, Integral) if isinstance(default, Integral) else math.isfinite(value)


def _kind_of(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, Integral):
        return "an integer"
    if isinstance(default, Real):
        return "a finite number"
    return f"a {type(default).__name__}"


class Model(ABC):
    """One trained (or trainable) model. Class attributes describe the plugin."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    # Inputs: the feature providers and the number of bars per sequence the model expects by default.
    default_features: ClassVar[tuple[str, ...]] = ("technical", "calendar")
    default_lookback: ClassVar[int] = 24
    default_hyperparameters: ClassVar[dict[str, Any]] = {}

    def __init__(self, n_features: int, n_assets: int, lookback: int, hyperparameters: dict[str, Any] | None = None) -> None:
        self.n_features, self.n_assets, self.lookback = n_features, n_assets, lookback
        self.hyperparameters = self.resolve_hyperparameters(hyperparameters or {})

    @classmethod
    def resolve_hyperparameters(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        """The defaults with `overrides`, each a declared hyperparameter of its default's kind, checked
        here so that a `hidden = "big"` is the strategy's error, not one from deep inside the plugin."""
        unknown = sorted(set(overrides) - set(cls.default_hyperparameters))
        if unknown:
            raise ValueError(
                f"model {cls.name!r} has no hyperparameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(cls.default_hyperparameters))}"
            )
        for key, value in overrides.items():
            default = cls.default_hyperparameters[key]
            if not _same_kind(value, default):
                raise ValueError(
                    f"{key} must be {_kind_of(default)} for model {cls.name!r} (its default is {default!r}), not {value!r}"
                )
        return {**cls.default_hyperparameters, **overrides}

    @classmethod
    def search_space(cls, trial) -> dict[str, Any]:
        """Hyperparameters an Optuna trial proposes (trial.suggest_*); empty: nothing to tune."""
        return {}

    @abstractmethod
    def fit(self, train: Dataset, validation: Dataset, seed: int) -> dict[str, Any]:
        """Train; return a summary (epochs run, best validation loss, …)."""

    @abstractmethod
    def predict(self, sequences: np.ndarray, assets: np.ndarray) -> np.ndarray:
        """Probabilities in [0, 1], shape (n,)."""

    @abstractmethod
    def save(self, path: Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, path: Path) -> Model: ...
