"""The feature provider contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import BaseModel

from engine.errors import UserError
from engine.kernel.bars import Bars
from engine.news.store import NewsStore


class FeatureProvider(Protocol):
    """Turns bars into features, one row per bar: shape (bars, symbols, len(columns)).

    Row t may use bars up to and including t, never later. `history` is how many earlier bars a
    row needs for its value to be settled (recursive indicators such as EMAs forget their start
    geometrically; a window of `history` bars makes what remains far below float precision).
    `uses_volume` says whether `compute` reads `bars.volume`; a provider that does not say is taken
    to read it, and is refused bars of a symbol stored without volume.
    """

    name: str
    columns: tuple[str, ...]
    history: int
    uses_volume: bool

    def compute(self, bars: Bars) -> np.ndarray: ...


class FeatureInputsMissing(UserError):
    """What a configurable provider reads beyond the bars is not there (news not stored or not
    scored): a strategy needing it cannot train now, so no trained fold is in use by it."""


@dataclass(frozen=True)
class FeatureContext:
    """What a configurable provider knows of the strategy besides its settings."""

    symbols: tuple[str, ...]
    timeframe: str
    news: NewsStore | None = None  # the workspace's news and its scores; None outside a workspace


class ConfigurableFeatures(Protocol):
    """A provider that takes settings from the strategy file (`[signal.feature_settings.NAME]`,
    validated by its `settings` model) and reads more than the bars: `configure` returns the
    provider that computes. That one's `inputs_fingerprint()` identifies what it read beyond the
    bars, so the model store, the prediction cache and a run's manifest tell its inputs apart."""

    name: str
    columns: tuple[str, ...]
    settings: type[BaseModel]

    def configure(self, settings: BaseModel, context: FeatureContext) -> FeatureProvider: ...
