"""Built-in overlays: threshold, the top-k portfolio, regime (trend, volatility, market), risk, and the cost filter."""

from engine.overlays.cost_filter import COST_FILTER
from engine.overlays.regime import MARKET_FILTER, TREND, VOLATILITY_REGIME
from engine.overlays.risk import DRAWDOWN_BREAKER, EXPOSURE_CAPS, HOLDING, STOPS, VOLATILITY_TARGET
from engine.overlays.threshold import THRESHOLD
from engine.overlays.top_k import TOP_K
from engine.plugins import hookimpl


@hookimpl
def engine_overlays():
    return [
        THRESHOLD,
        TOP_K,
        TREND,
        VOLATILITY_REGIME,
        MARKET_FILTER,
        HOLDING,
        STOPS,
        VOLATILITY_TARGET,
        EXPOSURE_CAPS,
        DRAWDOWN_BREAKER,
        COST_FILTER,
    ]
