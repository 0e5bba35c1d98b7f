"""The historical feed: stored bars pushed in chunks of a fixed size (the whole history by default)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from engine.data.store import DataStore
from engine.kernel.bars import Bars


class HistoricalFeed:
    name = "historical"

    def __init__(self, bars: Bars, chunk_size: int | None = None) -> None:
        self.bars = bars
        self.symbols = bars.symbols
        self.chunk_size = chunk_size

    @classmethod
    def from_store(
        cls,
        store: DataStore,
        symbols: list[str],
        timeframe: str,
        start: date | None = None,
        end: date | None = None,
        chunk_size: int | None = None,
    ) -> HistoricalFeed:
        return cls(store.load(symbols, timeframe, start, end), chunk_size)

    def run(self, push: Callable[[Bars], None]) -> None:
        for chunk in self.bars.chunks(self.chunk_size):
            push(chunk)
