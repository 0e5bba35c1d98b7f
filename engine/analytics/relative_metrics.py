"""A run's per-bar returns against a benchmark's: buy-and-hold of the same symbols over the same bars.

Definitions are empyrical's, with a risk-free rate of 0, on simple per-bar returns r (the run) and
b (the benchmark), P bars a year:

    beta               cov(r, b) / var(b)                          empyrical.beta
    alpha              (1 + mean(r − beta·b)) ** P − 1             empyrical.alpha (annualized)
    correlation        Pearson's correlation of r and b
    information ratio  mean(r − b) / std(r − b, ddof=1) · √P       empyrical.excess_sharpe, annualized

A figure that is undefined (fewer than two bars, a series that never moves) is None.
"""

from __future__ import annotations

import math

import numpy as np

NAMES = ("alpha", "beta", "correlation", "information_ratio")


def _defined(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def relative_metrics(returns: np.ndarray, benchmark: np.ndarray, periods_per_year: float) -> dict[str, float | None]:
    if len(returns) < 2:
        return dict.fromkeys(NAMES)
    centred = benchmark - benchmark.mean()
    variance = np.mean(centred**2)
    if variance < 1e-30:  # a benchmark that never moves explains nothing
        return dict.fromkeys(NAMES)
    beta = np.mean(centred * returns) / variance
    active = returns - benchmark
    tracking_error = active.std(ddof=1)
    spread = returns.std()
    return {
        "alpha": _defined((1.0 + np.mean(returns - beta * benchmark)) ** periods_per_year - 1.0),
        "beta": _defined(beta),
        "correlation": _defined(beta * math.sqrt(variance) / spread) if spread > 0 else None,
        "information_ratio": _defined(active.mean() / tracking_error * math.sqrt(periods_per_year))
        if tracking_error > 0
        else None,
    }
