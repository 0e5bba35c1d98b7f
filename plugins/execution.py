"""Built-in brokers (sim, vectorized) and feeds (historical), registered like anyone else's."""

from engine.execution.broker import SimBroker
from engine.execution.vectorized import VectorizedBroker
from engine.feeds.historical import HistoricalFeed
from engine.plugins import hookimpl


@hookimpl
def engine_brokers():
    return [SimBroker, VectorizedBroker]


@hookimpl
def engine_feeds():
    return [HistoricalFeed]
