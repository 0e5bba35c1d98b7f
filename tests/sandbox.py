"""`engine sandbox` in this process, on loopback, for tests that talk to it with the real alpaca-py clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import requests
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.stream import TradingStream

from engine.sandbox.app import SandboxOptions, sandbox_app
from engine.sandbox.server import serving_in_thread
from engine.workspace import Workspace

KEY, SECRET = "sandbox-key", "sandbox-secret"

# A consumer's workspace (the `consumer` fixture) trades these, with history to HISTORY_END; the
# sandbox's clock starts after it and releases bars from LIVE_FROM on.
SYMBOLS = ("SYN00", "SYN01")
HISTORY_END = "2022-11-30"
LIVE_FROM = pd.Timestamp("2022-12-01", tz="UTC")
SMA_LIVE = """
name = "sma_live"
[data]
symbols = ["SYN00", "SYN01"]
timeframe = "1h"
[signal]
kind = "sma_cross"
fast = 5
slow = 20
"""

SIZED_AT_CLOSE = SMA_LIVE + '[execution]\nsize_at = "close"\n'


def advance(url: str, bars: int = 1) -> None:
    """Release the next bars of a stepped sandbox."""
    reply = requests.post(
        f"{url}/admin/advance", json={"bars": bars}, headers={"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
    )
    reply.raise_for_status()


@contextmanager
def sandbox_server(home: Path, **options) -> Iterator[str]:
    """Yields the base URL (what alpaca-py's `url_override` takes) of a sandbox serving the workspace at
    `home`, with `SandboxOptions` (a small `page_size` makes a little data span several pages). Stopped afterwards."""
    with serving_in_thread(sandbox_app(Workspace(home), SandboxOptions(**options))) as url:
        yield url


def stream_url(url: str, path: str) -> str:
    """The websocket address of a sandbox stream (`/v2/iex`, `/v2/sip`, `/stream`): alpaca-py's
    stream clients take the whole URL as `url_override`."""
    return url.replace("http://", "ws://", 1) + path


def stream_bars(url: str, symbols: tuple[str, ...], until: Callable[[list], bool], timeout: float = 60.0) -> list:
    """Bars received by a real StockDataStream subscribed to `symbols` on the sandbox's IEX stream,
    in arrival order, until `until(bars)` holds. Reconnections wait 10 ms, not the SDK's second."""
    stream = StockDataStream(KEY, SECRET, url_override=stream_url(url, "/v2/iex"))
    stream._reconnect_min_backoff = 0.01  # private in alpaca-py 0.44 (data/live/websocket.py)
    received: list = []

    async def on_bar(bar) -> None:
        received.append(bar)
        if until(received):
            await stream.stop_ws()

    stream.subscribe_bars(on_bar, *symbols)
    asyncio.run(asyncio.wait_for(stream._run_forever(), timeout))
    return received


class ListeningTradingStream(TradingStream):
    """alpaca-py's TradingStream, run on a thread, that says when the sandbox has taken its `listen`
    (updates from before then are never sent, as at Alpaca) and keeps every update it receives."""

    def __init__(self, url: str) -> None:
        super().__init__(KEY, SECRET, paper=True, url_override=stream_url(url, "/stream"))
        self._reconnect_min_backoff = 0.01
        self.listening = threading.Event()
        self.updates: list = []

        async def keep(update) -> None:
            self.updates.append(update)

        self.subscribe_trade_updates(keep)

    async def _dispatch(self, msg: dict) -> None:
        if msg.get("stream") == "listening":
            self.listening.set()
        await super()._dispatch(msg)


@contextmanager
def trade_updates(url: str) -> Iterator[ListeningTradingStream]:
    """A TradingStream on the sandbox at `url`, listening when this yields; stopped afterwards."""
    stream = ListeningTradingStream(url)
    thread = threading.Thread(target=stream.run, name="trade-updates", daemon=True)
    thread.start()
    if not stream.listening.wait(10):
        raise RuntimeError("the trade-update stream did not start listening")
    try:
        yield stream
    finally:
        stream.stop()
        # The SDK notices a stop only between reads, which wait up to 5 s: closing the socket wakes it.
        asyncio.run_coroutine_threadsafe(stream.close(), stream._loop).result(10)
        thread.join(10)
