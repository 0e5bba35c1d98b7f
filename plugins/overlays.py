"""Built-in overlays: threshold, regime (trend, volatility, market), risk, and the cost filter."""

from engine.overlays.cost_filter import CostFilter
from engine.overlays.regime import MarketFilter, Trend, VolatilityRegime
from engine.overlays.risk import DrawdownBreaker, ExposureCaps, Holding, Stops, VolatilityTarget
from engine.overlays.threshold import Threshold
from engine.plugins import hookimpl


@hookimpl
def engine_overlays():
    return [
        Threshold(),
        Trend(),
        VolatilityRegime(),
        MarketFilter(),
        VolatilityTarget(),
        ExposureCaps(),
        Stops(),
        DrawdownBreaker(),
        Holding(),
        CostFilter(),
    ]
