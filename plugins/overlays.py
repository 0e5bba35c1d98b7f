"""Built-in overlays."""

from engine.overlays.threshold import Threshold
from engine.plugins import hookimpl


@hookimpl
def engine_overlays():
    return [Threshold()]
