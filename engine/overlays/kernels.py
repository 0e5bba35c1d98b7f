"""Numba kernels of the stateful overlays: one pass over the rows of a chunk.

Each kernel reads the chunk's arrays and updates the stage's state arrays in place, so the next
chunk continues exactly where this one stopped (chunk invariance). The stages in threshold.py,
risk.py, cost_filter.py and regime.py own the state and explain the rules; these loops only run them.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _sign(value: float) -> float:
    return 1.0 if value > 0 else (-1.0 if value < 0 else 0.0)


@njit(cache=True)
def threshold_nb(scores, entry, exit_, holding):
    """Hysteresis: enter above `entry`, stay while at or above `exit_`; a NaN score is no position."""
    out = np.empty(scores.shape, dtype=np.bool_)
    for row in range(scores.shape[0]):
        for column in range(scores.shape[1]):
            score = scores[row, column]
            holding[column] = score >= exit_[column] if holding[column] else score > entry[column]
            out[row, column] = holding[column]
    return out


@njit(cache=True)
def stops_nb(opens, closes, weights, stop_loss, take_profit, trailing, cooldown, held, entering, entry, extreme, blocked):
    out = np.empty(weights.shape)
    for row in range(weights.shape[0]):
        for column in range(weights.shape[1]):
            close = closes[row, column]
            if entering[column]:
                entry[column] = extreme[column] = opens[row, column]
            side = _sign(held[column])
            in_position = side != 0 and np.isfinite(entry[column])
            hit = False
            if in_position:
                extreme[column] = max(extreme[column], close) if side > 0 else min(extreme[column], close)
                gain = side * (close / entry[column] - 1.0)
                from_extreme = side * (close / extreme[column] - 1.0)
                hit = gain <= -stop_loss or gain >= take_profit or from_extreme <= -trailing
            target = weights[row, column]
            was_blocked = blocked[column] > 0
            if was_blocked or hit:
                target = 0.0
            blocked[column] = cooldown if hit else (blocked[column] - 1 if was_blocked else 0)
            opened = target != 0 and _sign(target) != side
            entering[column] = opened
            if target == 0 or opened:
                entry[column] = extreme[column] = np.nan
            held[column] = target
            out[row, column] = target
    return out


@njit(cache=True)
def drawdown_breaker_nb(opens, closes, weights, max_drawdown, cooldown, units, pending, last, scalars):
    """scalars: [cash, peak, bars halted left, 1.0 when `pending` holds targets to fill at the next open]."""
    out = np.empty(weights.shape)
    columns = weights.shape[1]
    cash, peak, halted, has_pending = scalars[0], scalars[1], int(scalars[2]), scalars[3] > 0
    for row in range(weights.shape[0]):
        if has_pending:
            value = cash
            for column in range(columns):
                value += units[column] * opens[row, column]
            invested = 0.0
            for column in range(columns):
                units[column] = pending[column] * value / opens[row, column]
                invested += units[column] * opens[row, column]
            cash = value - invested
            has_pending = False
        value = cash
        for column in range(columns):
            value += units[column] * closes[row, column]
        peak = max(peak, value)
        flat = True
        if halted > 0:
            halted -= 1
            if halted == 0:
                peak = value
        elif value / peak - 1.0 <= -max_drawdown:
            halted = cooldown
        else:
            flat = False
        changed = False
        for column in range(columns):
            target = 0.0 if flat else weights[row, column]
            changed = changed or target != last[column]
            last[column] = target
            out[row, column] = target
        if changed:
            pending[:] = last
            has_pending = True
    scalars[0], scalars[1], scalars[2], scalars[3] = cash, peak, halted, 1.0 if has_pending else 0.0
    return out


@njit(cache=True)
def holding_nb(weights, min_hold, cooldown, last, age, blocked):
    out = np.empty(weights.shape)
    for row in range(weights.shape[0]):
        for column in range(weights.shape[1]):
            target = weights[row, column]
            previous = last[column]
            holding = previous != 0
            if holding and age[column] < min_hold and _sign(target) != _sign(previous):
                target = previous
            if not holding and blocked[column] > 0:
                target = 0.0
                blocked[column] -= 1
            if holding and target == 0:
                blocked[column] = cooldown
            if target != 0 and _sign(target) != _sign(previous):
                age[column] = 1
            elif target != 0:
                age[column] += 1
            else:
                age[column] = 0
            last[column] = target
            out[row, column] = target
    return out


@njit(cache=True)
def cost_filter_nb(weights, edge_ok, band, last):
    """Keep the last weight for changes under `band` (entries and exits always pass), and for
    increases whose expected edge does not beat the costs."""
    out = np.empty(weights.shape)
    for row in range(weights.shape[0]):
        for column in range(weights.shape[1]):
            target, previous = weights[row, column], last[column]
            small = abs(target - previous) < band and target != 0 and previous != 0
            growing = abs(target) > abs(previous)
            if small or (growing and not edge_ok[row, column]):
                target = previous
            last[column] = target
            out[row, column] = target
    return out


@njit(cache=True)
def garch_variance_nb(returns, omega, alpha, beta, variance):
    """GARCH(1,1) rolled one bar at a time: the next-bar variance after each return (NaN where
    the return is missing, which leaves the variance as it was). Returns the forecasts and the last variance."""
    out = np.full(len(returns), np.nan)
    for row in range(len(returns)):
        latest = returns[row]
        if np.isfinite(latest):
            variance = omega + alpha * latest**2 + beta * variance
            out[row] = variance
    return out, variance
