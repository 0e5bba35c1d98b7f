"""Threshold overlay with hysteresis: enter a symbol when its score rises above `entry`, leave
when it falls below `exit` (<= entry), hold in between. Each held symbol gets an equal weight."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from engine.bars import Bars
from engine.overlays.base import OverlayConfig


class ThresholdConfig(OverlayConfig):
    entry: float = Field(default=0.5, ge=0.0, le=1.0)
    exit: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _hysteresis(self) -> ThresholdConfig:
        if self.exit > self.entry:
            raise ValueError(f"exit ({self.exit}) must not be above entry ({self.entry})")
        return self


class ThresholdStage:
    name = "threshold"

    def __init__(self, config: ThresholdConfig, n_symbols: int) -> None:
        self.entry, self.exit = config.entry, config.exit
        self._holding = np.zeros(n_symbols, dtype=bool)

    def on_chunk(self, bars: Bars, scores: np.ndarray | None) -> np.ndarray:
        holding = np.empty(bars.shape, dtype=bool)
        state = self._holding
        for row, score in enumerate(scores):
            state = np.where(state, score >= self.exit, score > self.entry)
            holding[row] = state
        self._holding = state
        return holding / len(bars.symbols)


class Threshold:
    name = "threshold"
    config = ThresholdConfig

    def build(self, config: ThresholdConfig, n_symbols: int) -> ThresholdStage:
        return ThresholdStage(config, n_symbols)
