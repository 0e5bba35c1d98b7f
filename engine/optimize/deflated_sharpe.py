"""The deflated Sharpe ratio (Bailey and López de Prado, 2014, "The Deflated Sharpe Ratio").

The best of N trials has a high Sharpe ratio by luck alone. DSR is the probability that the true
Sharpe ratio is above the maximum expected from N unskilled trials, given the track record's length,
skewness and kurtosis. All Sharpe ratios here are per bar (not annualized).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

EULER_MASCHERONI = 0.5772156649015329


def expected_maximum_sharpe(trial_sharpes: np.ndarray) -> float:
    """SR0: the expected maximum of N per-bar Sharpe ratios drawn with the trials' variance and mean 0."""
    n = len(trial_sharpes)
    if n < 2:
        return 0.0
    spread = math.sqrt(float(np.var(trial_sharpes, ddof=1)))
    gamma = EULER_MASCHERONI
    return spread * ((1 - gamma) * norm.ppf(1 - 1 / n) + gamma * norm.ppf(1 - 1 / (n * math.e)))


def deflated_sharpe_ratio(sharpe: float, bars: int, skewness: float, kurtosis: float, trial_sharpes: np.ndarray) -> float | None:
    """P(true SR > SR0) for a per-bar `sharpe` observed over `bars` returns; `kurtosis` is not excess."""
    if bars < 2:
        return None
    threshold = expected_maximum_sharpe(trial_sharpes)
    variance = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if variance <= 0:
        return None
    return float(norm.cdf((sharpe - threshold) * math.sqrt(bars - 1) / math.sqrt(variance)))
