"""The distribution of a run's per-bar returns: its skew and its historical 95% tail.

Historical: nothing is fitted, and the figures are per bar, not annualized.

    skew      sample skewness, the adjusted Fisher–Pearson coefficient (pandas' Series.skew)
    VaR 95%   the 5th percentile of the returns, linearly interpolated (empyrical.value_at_risk)
    CVaR 95%  the mean of the ⌊0.05·(n − 1)⌋ + 1 lowest returns (empyrical.conditional_value_at_risk)
"""

from __future__ import annotations

import math

import numpy as np

TAIL = 0.05
NAMES = ("skew", "value_at_risk", "conditional_value_at_risk", "worst_bar", "best_bar")


def skew(returns: np.ndarray) -> float | None:
    n = len(returns)
    deviations = returns - returns.mean()
    second, third = np.mean(deviations**2), np.mean(deviations**3)
    if n < 3 or second < 1e-30:
        return None
    return float(third / second**1.5 * math.sqrt(n * (n - 1)) / (n - 2))


def distribution_metrics(returns: np.ndarray) -> dict[str, float | None]:
    if not len(returns):
        return dict.fromkeys(NAMES)
    tail = int((len(returns) - 1) * TAIL) + 1
    return {
        "skew": skew(returns),
        "value_at_risk": float(np.percentile(returns, 100 * TAIL)),
        "conditional_value_at_risk": float(np.mean(np.partition(returns, tail - 1)[:tail])),
        "worst_bar": float(returns.min()),
        "best_bar": float(returns.max()),
    }
