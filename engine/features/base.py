"""The feature provider contract."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from engine.bars import Bars


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
