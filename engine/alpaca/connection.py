"""Which Alpaca server to talk to, with which keys, and the alpaca-py clients built for it.

Keys come only from Alpaca's own variables, `APCA_API_KEY_ID` and `APCA_API_SECRET_KEY`, and go
nowhere but the request headers: not into a repr, a message, a log or a stored file.
`ENGINE_ALPACA_URL` points every client at another server (`engine sandbox` on loopback);
otherwise the clients use Alpaca's own (data, and paper trading). A server on loopback needs no
keys of the user's: a placeholder pair is sent, since the SDK and the server both want one.

Each client is set up the same way: the SDK's own retries are turned off (it retries 429 and 504
with a fixed 3 s wait, ignoring Retry-After, and re-sends a POST whose reply was lost, which can
place an order twice); `engine.alpaca.retries` decides instead. The SDK sets no HTTP timeout, so
a stalled socket would block forever: every request gets one here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from alpaca.common.enums import BaseURL
from alpaca.common.rest import RESTClient
from alpaca.data.enums import DataFeed
from alpaca.data.historical.news import NewsClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.stream import TradingStream

from engine.errors import UserError

KEY_VARIABLE, SECRET_VARIABLE, URL_VARIABLE = "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "ENGINE_ALPACA_URL"
MAX_WAIT_VARIABLE = "ENGINE_ALPACA_MAX_WAIT"
PLACEHOLDER_KEYS = ("engine-sandbox", "engine-sandbox")
PAPER_HOST = urlsplit(BaseURL.TRADING_PAPER.value).hostname
TIMEOUT = (10.0, 60.0)  # seconds to connect, and to wait for each part of a reply
# The SDK's own websocket settings, and a bounded close: a client that stops reading while the
# server keeps sending would otherwise wait 10 s for the closing handshake.
STREAM_PARAMETERS = {"ping_interval": 10, "ping_timeout": 180, "max_queue": 1024, "close_timeout": 1}

Client = TypeVar("Client", bound=RESTClient)


class AlpacaSetupError(UserError):
    """No usable keys, or an unusable ENGINE_ALPACA_URL."""


class _SessionWithTimeout(requests.Session):
    """A session whose requests time out: the SDK calls `session.request` without a timeout."""

    def request(self, method, url, **options):
        options.setdefault("timeout", TIMEOUT)
        return super().request(method, url, **options)


@dataclass(frozen=True)
class AlpacaConnection:
    server: str | None  # ENGINE_ALPACA_URL without a trailing slash; None: Alpaca's own servers
    key: str = field(repr=False)
    secret: str = field(repr=False)
    max_wait: float | None = None  # ENGINE_ALPACA_MAX_WAIT: the longest wait between tries (engine.alpaca.retries)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> AlpacaConnection:
        """The connection settings from the environment: for entry points only."""
        server = environ.get(URL_VARIABLE, "").strip().rstrip("/") or None
        if server is not None:
            _check_url(server)
        max_wait = _max_wait(environ.get(MAX_WAIT_VARIABLE))
        key, secret = environ.get(KEY_VARIABLE, ""), environ.get(SECRET_VARIABLE, "")
        if key and secret:
            return cls(server, key, secret, max_wait)
        if key or secret:
            missing = SECRET_VARIABLE if key else KEY_VARIABLE
            raise AlpacaSetupError(f"{missing} is not set: Alpaca needs both {KEY_VARIABLE} and {SECRET_VARIABLE}")
        if server is not None and _is_loopback(server):
            return cls(server, *PLACEHOLDER_KEYS, max_wait)
        raise AlpacaSetupError(
            f"no Alpaca keys: set {KEY_VARIABLE} and {SECRET_VARIABLE}, or point {URL_VARIABLE} at "
            "`engine sandbox` on this machine (http://127.0.0.1:8765), which needs none"
        )

    @property
    def data_server(self) -> str:
        """Where market data comes from, for messages and a stored series' origin (no keys in it)."""
        return self.server or BaseURL.DATA.value

    @property
    def trading_server(self) -> str:
        """Where orders and assets come from, for messages (no keys in it)."""
        return self.server or BaseURL.TRADING_PAPER.value

    def data_client(self) -> StockHistoricalDataClient:
        return _prepared(StockHistoricalDataClient(self.key, self.secret, url_override=self.server))

    def news_client(self) -> NewsClient:
        return _prepared(NewsClient(self.key, self.secret, url_override=self.server))

    def bar_stream(self, feed: str = "iex") -> StockDataStream:
        """The live bar stream of `feed`: at ENGINE_ALPACA_URL's server, on Alpaca's path, when it names one."""
        websocket = None if self.server is None else self.server.replace("http", "ws", 1) + f"/v2/{DataFeed(feed).value}"
        return StockDataStream(
            self.key, self.secret, feed=DataFeed(feed), url_override=websocket, websocket_params=STREAM_PARAMETERS
        )

    def trading_client(self) -> TradingClient:
        """Paper trading: Alpaca's paper server unless ENGINE_ALPACA_URL names another."""
        return _prepared(TradingClient(self.key, self.secret, paper=True, url_override=self.server))

    def trade_update_stream(self) -> TradingStream:
        """Trade updates of the paper account: at ENGINE_ALPACA_URL's server when it names one."""
        websocket = None if self.server is None else self.server.replace("http", "ws", 1) + "/stream"
        return TradingStream(self.key, self.secret, paper=True, url_override=websocket, websocket_params=STREAM_PARAMETERS)

    def check_orders_go_to_paper(self) -> None:
        """Orders go only to Alpaca's paper API or a server on this machine (`engine sandbox`): never
        to a live account."""
        if self.server is None or _is_loopback(self.server) or urlsplit(self.server).hostname == PAPER_HOST:
            return
        raise AlpacaSetupError(
            f"{URL_VARIABLE}={self.server!r}: orders go only to Alpaca's paper API ({PAPER_HOST}) or to "
            "`engine sandbox` on this machine; live trading is not supported"
        )


def _prepared(client: Client) -> Client:
    # Private attributes of alpaca-py 0.44's RESTClient (common/rest.py): with `_retry` at 0,
    # `_one_request` raises APIError at once for every status, 429 included.
    client._retry, client._retry_codes = 0, []
    client._session = _SessionWithTimeout()
    return client


def _max_wait(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        max_wait = float(text)
    except ValueError:
        max_wait = float("nan")
    if not 0 <= max_wait < float("inf"):
        raise AlpacaSetupError(f"{MAX_WAIT_VARIABLE}={text!r}: give the longest wait in seconds, like 30")
    return max_wait


def _check_url(server: str) -> None:
    parts = urlsplit(server)
    if "@" in parts.netloc:  # never echoed: it would carry a password
        raise AlpacaSetupError(f"{URL_VARIABLE} holds a user name or password: keys go in {KEY_VARIABLE} and {SECRET_VARIABLE}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlpacaSetupError(f"{URL_VARIABLE}={server!r} is not an http(s) address like http://127.0.0.1:8765")
    if parts.path not in ("", "/"):
        raise AlpacaSetupError(f"{URL_VARIABLE}={server!r}: give the server only (the clients add /v2/...)")


def _is_loopback(server: str) -> bool:
    host = urlsplit(server).hostname
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def stop_stream(stream, listener: threading.Thread, wait: float = 10.0) -> None:
    """Stop the SDK's stream thread. It notices a stop only between reads, which wait up to 5 s:
    closing its socket wakes it. Both run in the stream's own loop, the close awaited there (the
    SDK's `stop` ends the loop, and a close sent after it was never run)."""
    deadline = time.monotonic() + wait
    while stream._loop is None and listener.is_alive() and time.monotonic() < deadline:  # private in alpaca-py 0.44
        time.sleep(0.01)  # `run` has not started its loop yet
    if stream._loop is not None and stream._loop.is_running():
        shutting = _stopped_and_closed(stream)
        try:
            done = asyncio.run_coroutine_threadsafe(shutting, stream._loop)
        except RuntimeError:  # the loop ended meanwhile
            shutting.close()
        else:
            try:
                done.result(wait)
            except TimeoutError:
                done.cancel()
    listener.join(wait)


async def _stopped_and_closed(stream) -> None:
    await stream.stop_ws()
    await stream.close()
