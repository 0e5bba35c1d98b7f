"""Risk overlays. Each is causal and carries its state across chunks.

- volatility_target: scale each symbol to a target annualized volatility;
- exposure_caps: cap each symbol's weight and the gross exposure;
- stops: stop-loss, take-profit and trailing stop from the entry price, then a cool-down;
- drawdown_breaker: go flat when the strategy's drawdown reaches a limit, resume after a cool-down;
- holding: a minimum holding period, and a cool-down after an exit.

Stops and the breaker need prices the strategy traded at. An overlay cannot see the broker, so
it follows the execution conventions itself: a position it opens at bar t's close is entered at
bar t+1's open (costs aside). Triggers are checked at the close, so an exit fills at the next
open like any other decision.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from engine.kernel.bars import Bars
from engine.kernel.windows import TrailingRows, trailing_std
from engine.overlays.base import OverlayConfig, OverlayContext, OverlayType
from engine.overlays.kernels import drawdown_breaker_nb, holding_nb, stops_nb
from engine.overlays.memo import recall


class VolatilityTargetConfig(OverlayConfig):
    target: float = Field(default=0.15, gt=0.0, description="annualized volatility per symbol position")
    window: int = Field(default=20, ge=2)
    max_scale: float = Field(default=1.0, gt=0.0)


class VolatilityTargetStage:
    name = "volatility_target"

    def __init__(self, config: VolatilityTargetConfig, context: OverlayContext) -> None:
        self.config = config
        self.annualize = np.sqrt(context.periods_per_year)
        self.memo = context.memo
        self._closes = TrailingRows(config.window)

    def _volatility(self, closes: np.ndarray, history: int) -> np.ndarray:
        returns = np.full(closes.shape, np.nan)
        returns[1:] = np.diff(np.log(closes), axis=0)
        return trailing_std(returns, self.config.window, start=history) * self.annualize

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        closes, history = self._closes.extend(bars.close)
        key = ("annual_volatility", self.config.window, self.annualize, history)
        volatility = recall(self.memo, key, (closes,), lambda: self._volatility(closes, history))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.clip(self.config.target / volatility, 0.0, self.config.max_scale)
        return weights * np.nan_to_num(scale, nan=0.0)  # no volatility estimate yet: no position


class ExposureCapsConfig(OverlayConfig):
    per_symbol: float = Field(default=1.0, gt=0.0)
    gross: float = Field(default=1.0, gt=0.0)

    @field_validator("per_symbol", "gross")
    @classmethod
    def _long_flat(cls, cap: float, info: ValidationInfo) -> float:
        if isinstance(info.context, OverlayContext) and not info.context.allow_short and cap > 1.0:
            raise ValueError(f"a cap of {cap} borrows; long/flat strategies allow at most 1.0")
        return cap


class ExposureCapsStage:
    name = "exposure_caps"

    def __init__(self, config: ExposureCapsConfig, context: OverlayContext) -> None:
        self.per_symbol, self.gross = config.per_symbol, config.gross

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        capped = np.clip(weights, -self.per_symbol, self.per_symbol)
        gross = np.abs(capped).sum(axis=1, keepdims=True)
        return np.where(gross > self.gross, capped * (self.gross / np.maximum(gross, 1e-300)), capped)


class StopsConfig(OverlayConfig):
    stop_loss: float | None = Field(default=None, gt=0.0, lt=1.0)
    take_profit: float | None = Field(default=None, gt=0.0)
    trailing_stop: float | None = Field(default=None, gt=0.0, lt=1.0)
    cooldown_bars: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _something(self) -> StopsConfig:
        if self.stop_loss is None and self.take_profit is None and self.trailing_stop is None:
            raise ValueError("set at least one of stop_loss, take_profit, trailing_stop")
        return self


class StopsStage:
    name = "stops"

    def __init__(self, config: StopsConfig, context: OverlayContext) -> None:
        n = len(context.symbols)
        self.stop_loss = np.inf if config.stop_loss is None else config.stop_loss
        self.take_profit = np.inf if config.take_profit is None else config.take_profit
        self.trailing = np.inf if config.trailing_stop is None else config.trailing_stop
        self.cooldown = config.cooldown_bars
        self._held = np.zeros(n)  # last output weight
        self._entering = np.zeros(n, dtype=bool)  # opened at the last close: enters at this open
        self._entry = np.full(n, np.nan)
        self._extreme = np.full(n, np.nan)  # best close since entry, in the position's favour
        self._blocked = np.zeros(n, dtype=np.int64)  # bars of cool-down left

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        return stops_nb(
            bars.open,
            bars.close,
            np.asarray(weights, dtype=np.float64),
            self.stop_loss,
            self.take_profit,
            self.trailing,
            self.cooldown,
            self._held,
            self._entering,
            self._entry,
            self._extreme,
            self._blocked,
        )


class DrawdownBreakerConfig(OverlayConfig):
    max_drawdown: float = Field(default=0.2, gt=0.0, lt=1.0)
    cooldown_bars: int = Field(default=20, ge=1)


class DrawdownBreakerStage:
    """Tracks the equity its own targets would earn (filled at the next open, marked at the
    close, before costs); at `max_drawdown` from the peak it goes flat for `cooldown_bars`,
    then resumes with the peak reset to the equity at that point."""

    name = "drawdown_breaker"

    def __init__(self, config: DrawdownBreakerConfig, context: OverlayContext) -> None:
        n = len(context.symbols)
        self.max_drawdown, self.cooldown = config.max_drawdown, config.cooldown_bars
        self._units = np.zeros(n)  # shadow holdings, starting from equity 1.0 in cash
        self._pending = np.zeros(n)  # targets to fill at the next open
        self._last = np.zeros(n)
        self._scalars = np.array([1.0, 1.0, 0.0, 0.0])  # cash, peak, bars halted left, has pending

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        return drawdown_breaker_nb(
            bars.open,
            bars.close,
            np.asarray(weights, dtype=np.float64),
            self.max_drawdown,
            self.cooldown,
            self._units,
            self._pending,
            self._last,
            self._scalars,
        )


class HoldingConfig(OverlayConfig):
    min_holding_bars: int = Field(default=0, ge=0)
    cooldown_bars: int = Field(default=0, ge=0)


class HoldingStage:
    """Holds a new position at least `min_holding_bars`; after an exit, waits `cooldown_bars`
    before entering that symbol again."""

    name = "holding"

    def __init__(self, config: HoldingConfig, context: OverlayContext) -> None:
        n = len(context.symbols)
        self.min_hold, self.cooldown = config.min_holding_bars, config.cooldown_bars
        self._last = np.zeros(n)
        self._age = np.zeros(n, dtype=np.int64)
        self._blocked = np.zeros(n, dtype=np.int64)

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        weights = np.asarray(weights, dtype=np.float64)
        return holding_nb(weights, self.min_hold, self.cooldown, self._last, self._age, self._blocked)


VOLATILITY_TARGET = OverlayType("volatility_target", "risk", VolatilityTargetConfig, VolatilityTargetStage)
EXPOSURE_CAPS = OverlayType("exposure_caps", "risk", ExposureCapsConfig, ExposureCapsStage)
STOPS = OverlayType("stops", "risk", StopsConfig, StopsStage)
DRAWDOWN_BREAKER = OverlayType("drawdown_breaker", "risk", DrawdownBreakerConfig, DrawdownBreakerStage)
HOLDING = OverlayType("holding", "risk", HoldingConfig, HoldingStage)
