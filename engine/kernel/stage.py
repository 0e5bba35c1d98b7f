"""The stage contract: a causal component that turns a chunk of bars (and the previous stage's
target weights) into target weights for the same bars.

A stage keeps whatever state it needs between chunks. Its output for bar t may use bars up to and
including t, never later ones; `engine check` runs a pipeline at several chunk sizes and names any
stage whose output moves, which is how a peek ahead shows itself.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from engine.errors import UserError
from engine.kernel.bars import Bars


class Stage(Protocol):
    """`name` labels the stage's output topic. A stage may also set `tolerance`: how far (absolute)
    its output may move between chunk sizes; rule-based stages leave it at 0 and must match exactly."""

    name: str

    def on_chunk(self, bars: Bars, weights: np.ndarray | None, signal: np.ndarray | None) -> np.ndarray:
        """Target weights (rows: bars of the chunk, columns: symbols).

        For the first stage (the signal) `weights` and `signal` are None; an overlay gets the
        previous stage's weights and the signal stage's output for the same bars.
        """
        ...


class StageError(UserError, RuntimeError):
    """A stage returned something unusable; the message names the stage."""
