"""Built-in feature providers: technical indicators and calendar cycles."""

from engine.features.technical import CalendarFeatures, TechnicalFeatures
from engine.plugins import hookimpl


@hookimpl
def engine_feature_providers():
    return [TechnicalFeatures(), CalendarFeatures()]
