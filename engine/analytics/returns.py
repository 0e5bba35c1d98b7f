"""Per-bar returns of an equity curve: what the metrics, the reports' series and a study's
return distribution are computed from."""

from __future__ import annotations

import numpy as np


def bar_returns(equity: np.ndarray, initial_cash: float) -> np.ndarray:
    """Each bar's return on the equity at the bar before (the first bar's on `initial_cash`)."""
    previous = np.concatenate([[initial_cash], equity[:-1]])
    return equity / previous - 1.0
