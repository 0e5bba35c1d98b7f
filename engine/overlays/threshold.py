"""Threshold overlay with hysteresis: enter a symbol when its score rises above `entry`, leave
when it falls below `exit` (<= entry), hold in between. Each held symbol gets an equal weight.

Thresholds may be set per symbol ({SP500 = 0.55, NASDAQ = 0.6}); symbols not named take 0.5.
With `calibrate`, the engine picks entry and exit on a validation window by net Sharpe after
costs (see engine.overlays.calibration).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from engine.kernel.bars import Bars
from engine.overlays.base import OverlayConfig, OverlayContext, OverlayType, per_symbol
from engine.overlays.kernels import threshold_nb

Level = float | dict[str, float]


class CalibrationSpec(OverlayConfig):
    validation_bars: int = Field(default=500, ge=20)
    entries: list[float] = Field(default=[0.5, 0.55, 0.6, 0.65], min_length=1)
    exits: list[float] = Field(default=[0.4, 0.45, 0.5], min_length=1)


class ThresholdConfig(OverlayConfig):
    entry: Level = 0.5
    exit: Level = 0.5
    calibrate: CalibrationSpec | None = None

    @field_validator("entry", "exit")
    @classmethod
    def _levels(cls, value: Level, info: ValidationInfo) -> Level:
        levels = value.values() if isinstance(value, dict) else [value]
        if any(not 0.0 <= level <= 1.0 for level in levels):
            raise ValueError("thresholds must be between 0 and 1")
        context = info.context
        if isinstance(value, dict) and isinstance(context, OverlayContext):
            unknown = sorted(set(value) - set(context.symbols))
            if unknown:
                raise ValueError(f"unknown symbol(s) {', '.join(unknown)}; the strategy trades {', '.join(context.symbols)}")
        return value

    @model_validator(mode="after")
    def _hysteresis(self, info: ValidationInfo) -> ThresholdConfig:
        symbols = info.context.symbols if isinstance(info.context, OverlayContext) else ("",)
        entry, exit_ = per_symbol(self.entry, symbols, 0.5), per_symbol(self.exit, symbols, 0.5)
        for symbol, high, low in zip(symbols, entry, exit_, strict=True):
            if low > high:
                raise ValueError(f"exit ({low}) must not be above entry ({high})" + (f" for {symbol}" if symbol else ""))
        return self


class ThresholdStage:
    name = "threshold"

    def __init__(self, config: ThresholdConfig, context: OverlayContext) -> None:
        self.entry = per_symbol(config.entry, context.symbols, 0.5)
        self.exit = per_symbol(config.exit, context.symbols, 0.5)
        self._holding = np.zeros(len(context.symbols), dtype=bool)

    def on_chunk(self, bars: Bars, scores: np.ndarray | None, signal: np.ndarray | None = None) -> np.ndarray:
        holding = threshold_nb(np.asarray(scores, dtype=np.float64), self.entry, self.exit, self._holding)
        return holding / len(bars.symbols)


THRESHOLD = OverlayType("threshold", "threshold", ThresholdConfig, ThresholdStage)
