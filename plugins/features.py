"""Built-in feature providers: technical indicators, calendar cycles and news sentiment."""

from engine.features.sentiment import SentimentFeatures
from engine.features.technical import CalendarFeatures, TechnicalFeatures
from engine.plugins import hookimpl


@hookimpl
def engine_feature_providers():
    return [TechnicalFeatures(), CalendarFeatures(), SentimentFeatures()]
