"""Technical indicators, from vectorbt's numba kernels, as scale-free features.

Prices enter only as ratios and returns, so one model can serve symbols at any price level.
"""

from __future__ import annotations

import numpy as np
from vectorbt.generic import nb as generic_nb
from vectorbt.indicators import nb as indicator_nb

from engine.kernel.bars import Bars

RETURN_HORIZONS = (1, 5, 10, 20)


def _ema(values: np.ndarray, span: int) -> np.ndarray:
    return generic_nb.ewm_mean_nb(values, span, minp=span, adjust=False)


def _sma(values: np.ndarray, window: int) -> np.ndarray:
    return generic_nb.rolling_mean_nb(values, window)


def _std(values: np.ndarray, window: int) -> np.ndarray:
    return generic_nb.rolling_std_nb(values, window)


def _rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    return _sma(values, window) * window


def _ratio(numerator: np.ndarray, denominator: np.ndarray, neutral: float) -> np.ndarray:
    """numerator / denominator; `neutral` where the denominator is 0; NaN stays NaN (warm-up)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result = numerator / denominator
    result[denominator == 0] = neutral
    return result


def rsi(close: np.ndarray, window: int = 14) -> np.ndarray:
    delta = generic_nb.diff_nb(close)
    up, down = np.clip(delta, 0, None), np.clip(-delta, 0, None)
    up_mean = indicator_nb.ma_nb(up, window, True)
    down_mean = indicator_nb.ma_nb(down, window, True)
    return 100.0 - 100.0 / (1.0 + _ratio(up_mean, down_mean, np.inf))


class TechnicalFeatures:
    name = "technical"
    columns = (
        *(f"return_{h}" for h in RETURN_HORIZONS),
        "volatility_20",
        "rsi_14",
        "macd",
        "macd_signal",
        "macd_hist",
        "bollinger_position",
        "bollinger_width",
        "atr_14",
        "sma_ratio_10",
        "sma_ratio_50",
        "ema_ratio_20",
        "obv_flow_20",
        "stochastic_k",
        "stochastic_d",
        "volume_zscore_20",
    )
    history = 512
    uses_volume = True  # on-balance volume and the volume z-score

    def compute(self, bars: Bars) -> np.ndarray:
        close, high, low, volume = (np.ascontiguousarray(a) for a in (bars.close, bars.high, bars.low, bars.volume))
        log_close = np.log(close)
        features = []
        for horizon in RETURN_HORIZONS:
            features.append(generic_nb.diff_nb(log_close, horizon))
        one_bar = features[0]
        features.append(_std(one_bar, 20))
        features.append(rsi(close) / 100.0 - 0.5)
        macd = (_ema(close, 12) - _ema(close, 26)) / close
        signal = _ema(np.ascontiguousarray(macd), 9)
        features += [macd, signal, macd - signal]
        middle, spread = _sma(close, 20), 2.0 * _std(close, 20)
        features.append(_ratio(close - (middle - spread), 2 * spread, 0.5))
        features.append(2 * spread / middle)
        true_range = indicator_nb.true_range_nb(high, low, close)
        features.append(indicator_nb.ma_nb(true_range, 14, True) / close)
        features.append(close / _sma(close, 10) - 1.0)
        features.append(close / _sma(close, 50) - 1.0)
        features.append(close / _ema(close, 20) - 1.0)
        # On-balance volume over the last 20 bars, as a share of the volume traded in them.
        signed_volume = np.sign(generic_nb.diff_nb(close)) * volume
        features.append(_ratio(_rolling_sum(signed_volume, 20), _rolling_sum(volume, 20), 0.0))
        lowest, highest = generic_nb.rolling_min_nb(low, 14), generic_nb.rolling_max_nb(high, 14)
        stochastic_k = _ratio(close - lowest, highest - lowest, 0.5)
        features += [stochastic_k - 0.5, _sma(np.ascontiguousarray(stochastic_k), 3) - 0.5]
        features.append(_ratio(volume - _sma(volume, 20), _std(volume, 20), 0.0))
        return np.stack(features, axis=-1)


class CalendarFeatures:
    """Day of week and hour of day on the unit circle, so Friday sits next to Monday."""

    name = "calendar"
    columns = ("day_of_week_sin", "day_of_week_cos", "hour_sin", "hour_cos")
    history = 0
    uses_volume = False

    def compute(self, bars: Bars) -> np.ndarray:
        index = bars.index()
        day = 2 * np.pi * index.day_of_week.to_numpy() / 7
        hour = 2 * np.pi * (index.hour.to_numpy() + index.minute.to_numpy() / 60) / 24
        per_bar = np.stack([np.sin(day), np.cos(day), np.sin(hour), np.cos(hour)], axis=-1)
        return np.broadcast_to(per_bar[:, None, :], (len(bars), len(bars.symbols), 4)).copy()
