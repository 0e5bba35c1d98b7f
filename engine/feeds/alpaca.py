"""The Alpaca live feed: a strategy's stored history, then each bar as it closes, one bar per chunk
(paper trading; DESIGN §11).

The bars it pushes are the bars a backtest reads: each closed bar is fetched through Alpaca's
historical API into the bar store, exactly as `engine data fetch` stores it (engine.alpaca.bars),
and read back from there. The live stream (`StockDataStream`, any bar of the strategy's symbols)
only says when to look: Alpaca streams minute bars, not a strategy's hours or days, and a stream
can drop, repeat or reorder what it sends. So whatever the stream does, no bar is pushed twice,
none is skipped (the fetch takes every bar since the last one pushed, outages included) and they
come in time order. A bar counts as closed when its end is `settle` before the clock of Alpaca's
trading API (`/v2/clock`: the replayed time of `engine sandbox`), by which time Alpaca has it. When
the stream is quiet the feed looks every `poll` seconds anyway: a stream can die silently.

Timestamps every symbol has are pushed (as `DataStore.load` keeps for a backtest); one a symbol
lacks is skipped once a later bar of every symbol has closed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from engine.alpaca.bars import fetch_bars
from engine.alpaca.connection import AlpacaConnection, stop_stream
from engine.alpaca.request import AlpacaRequest
from engine.alpaca.retries import RetryPolicy, send
from engine.alpaca.span import Span
from engine.data.day_stamps import alpaca_stamps, store_stamps
from engine.data.store import DataStore, bar_length
from engine.data.timestamps import parse_utc
from engine.kernel.bars import Bars


@dataclass(frozen=True)
class LiveSettings:
    settle: pd.Timedelta = pd.Timedelta(seconds=0)  # after a bar's end, before it is fetched
    poll: float = 60.0  # seconds between looks while the stream is quiet
    max_bars: int | None = None  # live bars to push before the feed ends; None: until stopped
    until: pd.Timestamp | None = None  # the feed ends after the first bar that starts at or after it
    feed: str = "iex"  # Alpaca's data feed, for the stream and the fetched bars


class AlpacaFeed:
    name = "alpaca"

    def __init__(
        self,
        store: DataStore,
        connection: AlpacaConnection,
        symbols: tuple[str, ...],
        timeframe: str,
        history: Bars,
        settings: LiveSettings = LiveSettings(),
    ) -> None:
        """`history`: the stored bars to warm up on (at least one), pushed first as one chunk; live bars
        follow it."""
        if not len(history):
            raise ValueError("the live feed needs stored bars to start from")
        self.store, self.connection, self.settings = store, connection, settings
        self.symbols, self.timeframe, self.history = tuple(symbols), timeframe, history
        self.pushed_live = 0
        self._last = pd.Timestamp(history.timestamps[-1], tz="UTC")
        self._wake, self._stopped = threading.Event(), threading.Event()
        self._trading, self._policy = connection.trading_client(), RetryPolicy.of(connection)

    def run(self, push: Callable[[Bars], None]) -> None:
        push(self.history)
        stream = self.connection.bar_stream(self.settings.feed)

        async def woken(_bar) -> None:
            self._wake.set()

        stream.subscribe_bars(woken, *self.symbols)
        listener = threading.Thread(target=stream.run, name="alpaca-bar-stream", daemon=True)
        listener.start()
        try:
            while not self._done():
                for bar in self._closed_bars():
                    push(bar)
                    self._last = bar.index()[-1]
                    self.pushed_live += 1
                    if self._done():
                        break
                else:
                    self._wake.wait(self.settings.poll)
                    self._wake.clear()
        finally:
            stop_stream(stream, listener)

    def stop(self) -> None:
        """End the feed after the bar it is pushing (from another thread, or a signal handler)."""
        self._stopped.set()
        self._wake.set()

    def _done(self) -> bool:
        limit, until = self.settings.max_bars, self.settings.until
        return (
            self._stopped.is_set()
            or (limit is not None and self.pushed_live >= limit)
            or (until is not None and self.pushed_live > 0 and self._last >= until)
        )

    def now(self) -> pd.Timestamp:
        """The trading API's clock, asked as every request to Alpaca is (engine.alpaca.retries)."""
        request = AlpacaRequest("/clock", "v2", ())
        reply = send(self._trading, request, {}, self._policy)
        stamp = parse_utc(str(reply.get("timestamp"))) if isinstance(reply, dict) else None
        if stamp is None:
            raise request.fail(f"the reply has no readable timestamp: {str(reply)[:200]}")
        return stamp

    def _closed_bars(self) -> list[Bars]:
        """The bars closed since the last one pushed, fetched into the store, one chunk each."""
        now = self.now()
        last_start = now - self.settings.settle - bar_length(self.timeframe)  # Alpaca's stamp of the latest closed bar
        last_stored = store_stamps(pd.DatetimeIndex([last_start]), self.timeframe)[0]  # a day's: its date (day_stamps)
        if last_stored <= self._last:
            return []
        span = Span(alpaca_stamps(pd.DatetimeIndex([self._last]), self.timeframe)[0], last_start)
        fetch_bars(self.store, self.connection, list(self.symbols), self.timeframe, span, self.settings.feed)
        after = self._last + pd.Timedelta(1, "ns")
        bars = self.store.load(list(self.symbols), self.timeframe, after, last_stored.isoformat())
        return [bars.slice(row, row + 1) for row in range(len(bars))]
