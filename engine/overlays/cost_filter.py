"""Cost-aware trade filter.

- `band`: a weight change smaller than this is ignored (the previous weight is kept), except a
  change to or from zero, so small drifts in a target never pay costs.
- `min_edge_multiple`: an entry or an increase is skipped unless its expected edge beats that
  many round-trip costs. The edge per unit of weight is |2p - 1| times the mean absolute return
  over the label horizon in the last `edge_window` bars, where p is the model's probability
  (the signal); a round trip costs 2 x (commission + slippage). Exits and reductions always pass.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from engine.kernel.bars import Bars
from engine.kernel.windows import TrailingRows, trailing_mean
from engine.overlays.base import OverlayConfig, OverlayContext, OverlayType
from engine.overlays.kernels import cost_filter_nb
from engine.overlays.memo import recall


class CostFilterConfig(OverlayConfig):
    band: float = Field(default=0.0, ge=0.0, le=1.0)
    min_edge_multiple: float = Field(default=0.0, ge=0.0)
    horizon: int = Field(default=5, ge=1)
    edge_window: int = Field(default=252, ge=2)

    @field_validator("min_edge_multiple")
    @classmethod
    def _needs_probability(cls, multiple: float, info: ValidationInfo) -> float:
        context = info.context
        if multiple > 0 and isinstance(context, OverlayContext) and not context.signal_is_probability:
            raise ValueError("an expected-edge filter needs a model's probability as the signal; use band alone")
        return multiple


class CostFilterStage:
    name = "cost_filter"

    def __init__(self, config: CostFilterConfig, context: OverlayContext) -> None:
        self.config = config
        self.cost = context.round_trip_cost
        self.memo = context.memo
        self._last = np.zeros(len(context.symbols))
        self._closes = TrailingRows(config.edge_window + config.horizon)

    def _typical_move(self, bars: Bars) -> np.ndarray:
        """Mean absolute return over the horizon in the trailing window, per bar and symbol."""
        closes, history = self._closes.extend(bars.close)
        key = ("typical_move", self.config.horizon, self.config.edge_window, history)
        return recall(self.memo, key, (closes,), lambda: self._moves_mean(closes, history))

    def _moves_mean(self, closes: np.ndarray, history: int) -> np.ndarray:
        horizon = self.config.horizon
        moves = np.full(closes.shape, np.nan)
        moves[horizon:] = np.abs(closes[horizon:] / closes[:-horizon] - 1.0)
        return trailing_mean(moves, self.config.edge_window, start=history)

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        config = self.config
        edge_ok = np.ones(bars.shape, dtype=bool)
        if config.min_edge_multiple > 0:
            edge = np.abs(2 * signal - 1) * self._typical_move(bars)
            edge_ok = np.nan_to_num(edge, nan=0.0) > config.min_edge_multiple * self.cost
        return cost_filter_nb(np.asarray(weights, dtype=np.float64), edge_ok, config.band, self._last)


COST_FILTER = OverlayType("cost_filter", "cost", CostFilterConfig, CostFilterStage)
