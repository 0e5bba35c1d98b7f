"""Regime overlays: scale or zero targets when the market is in a regime the strategy should sit out.

- trend: a symbol's close against its own long moving average;
- volatility_regime: realized volatility's percentile in its own history, and optionally a
  GARCH(1,1) forecast from `arch`;
- market_filter: one benchmark symbol's close against its moving average, applied to all symbols.

`scale` is what the target is multiplied by in the bad regime: 0 zeroes it, 0.5 halves it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from engine.kernel.bars import Bars
from engine.kernel.windows import TrailingRows, trailing_mean, trailing_rank, trailing_std
from engine.overlays.base import OverlayConfig, OverlayContext, OverlayType
from engine.overlays.kernels import garch_variance_nb
from engine.overlays.memo import recall

Scale = Field(default=0.0, ge=0.0, le=1.0)


class TrendConfig(OverlayConfig):
    window: int = Field(default=200, ge=2)
    scale: float = Scale


class TrendStage:
    """Longs below their moving average (shorts above it) are scaled by `scale`."""

    name = "trend"

    def __init__(self, config: TrendConfig, context: OverlayContext) -> None:
        self.window, self.scale, self.memo = config.window, config.scale, context.memo
        self._closes = TrailingRows(config.window - 1)

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        closes, history = self._closes.extend(bars.close)
        key = ("mean", self.window, history)
        average = recall(self.memo, key, (closes,), lambda: trailing_mean(closes, self.window, start=history))
        against = ((weights > 0) & (bars.close < average)) | ((weights < 0) & (bars.close > average))
        return np.where(against, weights * self.scale, weights)


class VolatilityRegimeConfig(OverlayConfig):
    window: int = Field(default=20, ge=2)
    lookback: int = Field(default=252, ge=10)
    max_percentile: float = Field(default=0.9, gt=0.0, le=1.0)
    garch: bool = False
    garch_window: int = Field(default=500, ge=100)
    refit_every: int = Field(default=63, ge=1)
    max_garch_volatility: float = Field(default=0.4, gt=0.0)
    scale: float = Scale


@lru_cache(maxsize=4096)
def fit_garch(returns: bytes, cache_dir: Path | None = None) -> tuple[float, float, float, float]:
    """GARCH(1,1) on a window of percent returns (float64 bytes): omega, alpha, beta and the last
    conditional variance. Memoized in memory, since calibration and ablation rerun a chain over the
    same bars, and with `cache_dir` on disk too: a fit takes tens of milliseconds, and a ten-year
    daily history refit quarterly needs dozens per symbol in every run."""
    return (_fit_garch if cache_dir is None else _stored_fits(cache_dir))(returns)


def _fit_garch(returns: bytes) -> tuple[float, float, float, float]:
    # arch and joblib are imported by the first fit: every run discovers this plugin, few fit GARCH.
    from arch.univariate import GARCH, ZeroMean

    result = ZeroMean(np.frombuffer(returns), volatility=GARCH(p=1, q=1)).fit(disp="off")
    omega, alpha, beta = (float(result.params[name]) for name in ("omega", "alpha[1]", "beta[1]"))
    return omega, alpha, beta, float(result.conditional_volatility[-1]) ** 2


@lru_cache(maxsize=8)
def _stored_fits(cache_dir: Path) -> Callable[[bytes], tuple[float, float, float, float]]:
    """`_fit_garch` memoized by joblib in a folder per arch version (another version may fit
    differently); the floats come back exactly as fitted."""
    import joblib

    version = importlib.metadata.version("arch")
    return joblib.Memory(cache_dir / f"garch-arch-{version}", verbose=0).cache(_fit_garch)


class GarchForecast:
    """One symbol's next-bar variance from GARCH(1,1): refit every `refit_every` bars on the last
    `window` returns, rolled forward one bar at a time with the fitted parameters in between."""

    def __init__(self, window: int, refit_every: int, cache_dir: Path | None = None) -> None:
        self.window, self.refit_every, self.cache_dir = window, refit_every, cache_dir
        self.params: tuple[float, float, float] | None = None
        self.variance = np.nan

    def forecast(self, returns: np.ndarray, start: int, first_bar: int) -> np.ndarray:
        """Forecasts after each of `returns[start:]` (percent; earlier rows are history), whose first
        row is run bar number `first_bar`; refits fall on bar numbers divisible by `refit_every`."""
        out = np.full(len(returns) - start, np.nan)
        row = 0
        while row < len(out):
            bar, upto = first_bar + row, start + row + 1
            window = returns[upto - self.window : upto]
            if bar % self.refit_every == 0 and upto >= self.window and np.isfinite(window).all():
                *params, self.variance = fit_garch(np.ascontiguousarray(window, dtype=np.float64).tobytes(), self.cache_dir)
                self.params = tuple(params)
            end = min(len(out), row + self.refit_every - bar % self.refit_every)  # the next refit bar
            if self.params is not None:
                out[row:end], self.variance = garch_variance_nb(returns[start + row : start + end], *self.params, self.variance)
            row = end
        return out


class VolatilityRegimeStage:
    name = "volatility_regime"

    def __init__(self, config: VolatilityRegimeConfig, context: OverlayContext) -> None:
        self.config = config
        self.annualize = np.sqrt(context.periods_per_year)
        self._closes = TrailingRows(max(config.window + config.lookback, config.garch_window + 1))
        self._garch = [GarchForecast(config.garch_window, config.refit_every, context.cache_dir) for _ in context.symbols]
        self._bars_seen = 0
        self.memo = context.memo

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        config = self.config
        closes, history = self._closes.extend(bars.close)
        garch_state = tuple((model.params, model.variance) for model in self._garch)
        windows = (config.window, config.lookback, config.garch, config.garch_window, config.refit_every, self.annualize)
        key = ("volatility_regime", *windows, history, self._bars_seen, garch_state)
        percentile, annual, garch_state = recall(self.memo, key, (closes,), lambda: self._volatility(closes, history))
        for model, (params, variance) in zip(self._garch, garch_state, strict=True):
            model.params, model.variance = params, variance  # as its forecasts over these bars left it
        self._bars_seen += len(bars)
        high = percentile > config.max_percentile
        if config.garch:
            high |= annual > config.max_garch_volatility
        return np.where(high, weights * config.scale, weights)

    def _volatility(self, closes: np.ndarray, history: int) -> tuple[np.ndarray, np.ndarray | None, tuple]:
        """The chunk's realized-volatility percentiles, its GARCH forecasts annualized (None without
        GARCH), and the GARCH models' state after them."""
        config = self.config
        returns = np.full(closes.shape, np.nan)
        returns[1:] = np.diff(np.log(closes), axis=0)
        first = max(history - config.lookback + 1, 0)
        realized = trailing_std(returns, config.window, start=first)
        percentile = trailing_rank(realized, config.lookback, start=history - first)
        annual = None
        if config.garch:
            forecast = np.column_stack(
                [model.forecast(100 * returns[:, column], history, self._bars_seen) for column, model in enumerate(self._garch)]
            )
            annual = np.sqrt(forecast) / 100 * self.annualize
        return percentile, annual, tuple((model.params, model.variance) for model in self._garch)


class MarketFilterConfig(OverlayConfig):
    symbol: str
    window: int = Field(default=200, ge=2)
    scale: float = Scale

    @field_validator("symbol")
    @classmethod
    def _traded(cls, symbol: str, info: ValidationInfo) -> str:
        context = info.context
        if isinstance(context, OverlayContext) and symbol not in context.symbols:
            raise ValueError(f"benchmark {symbol!r} must be one of the strategy's symbols ({', '.join(context.symbols)})")
        return symbol


class MarketFilterStage:
    """Every target is scaled by `scale` while the benchmark closes below its moving average."""

    name = "market_filter"

    def __init__(self, config: MarketFilterConfig, context: OverlayContext) -> None:
        self.window, self.scale, self.memo = config.window, config.scale, context.memo
        self.column = context.symbols.index(config.symbol)
        self._closes = TrailingRows(config.window - 1)

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        closes, history = self._closes.extend(bars.close)
        key = ("benchmark_mean", self.column, self.window, history)
        average = recall(
            self.memo, key, (closes,), lambda: trailing_mean(closes[:, [self.column]], self.window, start=history)[:, 0]
        )
        risk_off = bars.close[:, self.column] < average
        return np.where(risk_off[:, None], weights * self.scale, weights)


TREND = OverlayType("trend", "regime", TrendConfig, TrendStage)
VOLATILITY_REGIME = OverlayType("volatility_regime", "regime", VolatilityRegimeConfig, VolatilityRegimeStage)
MARKET_FILTER = OverlayType("market_filter", "regime", MarketFilterConfig, MarketFilterStage)
