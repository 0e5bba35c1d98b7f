"""From features to training data: labels, scaling fitted on a training window, and sequences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import UserError
from engine.features.base import FeatureProvider
from engine.kernel.bars import Bars
from engine.plugins.faults import PluginError, guarded


class MissingVolumeError(UserError):
    """A feature provider that reads volume was given a symbol stored without volume."""


class FeatureSet:
    """Several providers side by side: features of shape (bars, symbols, sum of their columns)."""

    def __init__(self, providers: list[FeatureProvider]) -> None:
        self.providers = providers
        self.columns = tuple(f"{p.name}.{column}" for p in providers for column in p.columns)
        self.history = max(p.history for p in providers)

    def compute(self, bars: Bars) -> np.ndarray:
        self._check_volume(bars)
        parts = []
        for provider in self.providers:
            plugin = f"feature plugin {provider.name!r}"
            with guarded(plugin, "in compute"):
                values = np.asarray(provider.compute(bars), dtype=np.float64)
            expected = (len(bars), len(bars.symbols), len(provider.columns))
            if values.shape != expected:
                raise PluginError(f"{plugin}: compute returned shape {values.shape}, expected {expected}")
            parts.append(values)
        return np.concatenate(parts, axis=-1)

    def _check_volume(self, bars: Bars) -> None:
        readers = [p.name for p in self.providers if getattr(p, "uses_volume", True)]
        stored_without = np.isnan(bars.volume).all(axis=0) & (len(bars) > 0)
        no_volume = [symbol for symbol, missing in zip(bars.symbols, stored_without, strict=True) if missing]
        if readers and no_volume:
            raise MissingVolumeError(
                f"{', '.join(no_volume)} stored without volume, and feature provider(s) {', '.join(readers)} read volume: "
                "choose features that do not (signal.features), or import bars with a volume column"
            )


class FeatureWindow:
    """Computes features chunk by chunk, keeping the trailing bars each new row needs."""

    def __init__(self, features: FeatureSet) -> None:
        self.features = features
        self._history: Bars | None = None

    def on_chunk(self, bars: Bars) -> np.ndarray:
        joined = bars if self._history is None else Bars.concat([self._history, bars])
        keep = min(len(joined), self.features.history)
        self._history = joined.slice(len(joined) - keep, len(joined))
        return self.features.compute(joined)[len(joined) - len(bars) :]


def forward_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """What a label is made of: at each bar, the return from its close to the close `horizon` bars
    later; NaN where the future is not in the data."""
    returns = np.full(close.shape, np.nan)
    returns[:-horizon] = close[horizon:] / close[:-horizon] - 1.0
    return returns


def forward_return_labels(close: np.ndarray, horizon: int, threshold: float) -> np.ndarray:
    """1.0 where the return over the next `horizon` bars exceeds `threshold`, else 0.0; NaN where
    the future is not in the data."""
    labels = np.full(close.shape, np.nan)
    labels[:-horizon] = (forward_returns(close, horizon)[:-horizon] > threshold).astype(np.float64)
    return labels


@dataclass(frozen=True)
class Scaler:
    """Per-feature standardization, fitted on a training window only."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Scaler:
        flat = rows.reshape(-1, rows.shape[-1])
        mean = np.nanmean(flat, axis=0)
        scale = np.nanstd(flat, axis=0)
        return cls(mean, np.where(scale > 0, scale, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.scale).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        return cls(np.asarray(data["mean"]), np.asarray(data["scale"]))


def sequences(features: np.ndarray, rows: np.ndarray, columns: np.ndarray, lookback: int) -> np.ndarray:
    """The `lookback` feature rows ending at each (row, column): shape (n, lookback, features)."""
    offsets = np.arange(-lookback + 1, 1)
    return features[rows[:, None] + offsets[None, :], columns[:, None]]
