"""The engine's calls into a model plugin: each runs guarded (engine.plugins.faults) and its answer
is checked, so a plugin that raises, exits or answers the wrong thing stops the run with one line
naming the plugin and the call. The engine calls a model through these functions only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from engine.models.base import Dataset, Model
from engine.plugins.faults import PluginError, guarded


def _plugin(model: Model | type[Model]) -> str:
    return f"model plugin {model.name!r}"


def build(model_class: type[Model], n_features: int, n_assets: int, lookback: int, hyperparameters: dict) -> Model:
    with guarded(_plugin(model_class), "to make a model"):
        return model_class(n_features, n_assets, lookback, hyperparameters)


def fit(model: Model, train: Dataset, validation: Dataset, seed: int) -> dict[str, Any]:
    """The training summary, which the run and the model store keep as JSON."""
    with guarded(_plugin(model), "in fit"):
        summary = model.fit(train, validation, seed=seed)
    if not isinstance(summary, dict):
        raise PluginError(f"{_plugin(model)}: fit returned {type(summary).__name__}, not a dict summary")
    try:
        json.dumps(summary, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise PluginError(f"{_plugin(model)}: fit returned a summary that is not finite JSON ({error})") from None
    return summary


def predict(model: Model, sequences: np.ndarray, assets: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1], one per sequence, as float64."""
    with guarded(_plugin(model), "in predict"):
        raw = model.predict(sequences, assets)
    values = np.asarray(raw)
    if values.dtype.kind not in "biuf":
        raise PluginError(
            f"{_plugin(model)}: predict returned values of dtype {values.dtype} ({type(raw).__name__}), not numbers"
        )
    values = values.astype(np.float64)
    if values.shape != (len(sequences),):
        raise PluginError(f"{_plugin(model)}: predict returned shape {values.shape}, expected ({len(sequences)},)")
    if not np.isfinite(values).all():
        raise PluginError(f"{_plugin(model)}: predict returned NaN or infinite values")
    if (values < 0).any() or (values > 1).any():
        raise PluginError(
            f"{_plugin(model)}: predict returned values outside [0, 1] (min {values.min():.3g}, max {values.max():.3g})"
        )
    return values


def save(model: Model, path: Path) -> None:
    with guarded(_plugin(model), "in save"):
        model.save(path)


def load(model_class: type[Model], path: Path) -> Model:
    with guarded(_plugin(model_class), "in load"):
        model = model_class.load(path)
    if not isinstance(model, model_class):
        raise PluginError(f"{_plugin(model_class)}: load returned {type(model).__name__}, not a {model_class.__name__}")
    return model
