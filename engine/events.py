"""Typed, immutable events carried by the bus.

Every event carries a chunk: one or more consecutive timestamps across one or more symbols.
Arrays inside events are read-only (see `engine.bars`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.bars import Bars, _frozen


@dataclass(frozen=True, slots=True, eq=False)
class BarChunk:
    """Market data for a chunk of timestamps."""

    bars: Bars


@dataclass(frozen=True, slots=True, eq=False)
class TargetChunk:
    """Target weights of equity per symbol, one row per bar of `bars`, as published by `stage`.

    A row is decided at that bar's close and may use that bar's data, never a later one.
    `signal` is the first stage's output for the same bars (a model's probabilities, or a rule's
    weights), carried along so that overlays can use it; the first stage's own chunk carries itself.
    """

    stage: str
    bars: Bars
    weights: np.ndarray
    signal: np.ndarray | None = None

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.shape != self.bars.shape:
            raise ValueError(f"stage {self.stage!r} returned weights of shape {weights.shape}, expected {self.bars.shape}")
        object.__setattr__(self, "weights", _frozen(weights))
        object.__setattr__(self, "signal", self.weights if self.signal is None else self.signal)


@dataclass(frozen=True, slots=True, eq=False)
class OrderBatch:
    """Target-weight orders decided at the close of each bar of `bars` (NaN: no order for that symbol).

    Each order fills at the open of the bar after the one it was decided on.
    """

    bars: Bars
    target_weights: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_weights", _frozen(np.asarray(self.target_weights, dtype=np.float64)))


@dataclass(frozen=True, slots=True)
class Fill:
    """One executed order. `price` includes slippage; `fees` is the commission paid."""

    timestamp: np.datetime64
    decided_at: np.datetime64
    bar: int
    symbol: str
    column: int
    side: str
    size: float
    price: float
    fees: float
    slippage_cost: float
    target_weight: float


@dataclass(frozen=True, slots=True, eq=False)
class FillBatch:
    """The fills the broker executed over the bars of one chunk, in execution order."""

    bars: Bars
    fills: tuple[Fill, ...]


@dataclass(frozen=True, slots=True)
class EndOfData:
    """The feed has no more bars."""
