"""The sandbox's websocket streams, at Alpaca's own paths, as alpaca-py's clients speak them:

- market data at `/v2/iex` and `/v2/sip` (`StockDataStream`): msgpack when the client says
  `Content-Type: application/msgpack` (the SDK always does), else JSON; `connected`, then `auth`,
  then `subscribe` (with Alpaca's error codes: 400 for what is not a request, 401 for a request
  before `auth`, 402 for a key pair it refuses); each released bar of a subscribed symbol is a `b` message, its `t` a msgpack
  Timestamp (the SDK drops a bar whose `t` is a string). Only bars are served: a subscription to
  trades, quotes or anything else is answered without them.
- trade updates at `/stream` (`TradingStream`): JSON; `authenticate`, then `listen`; each change of
  an order's state from then on. As at Alpaca, what happens while a client is not listening is never
  sent to it later.

A connection starts with what is released after it subscribed. Every message goes out through the
stream faults (engine.sandbox.faults): duplicated, held back behind the next one, or the connection
closed after every N messages or once the replayed clock has reached a time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import suppress

import msgpack
import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.kernel.bars import Bars
from engine.sandbox.faults import FaultState
from engine.sandbox.paper_account import PaperAccount
from engine.sandbox.wire import timestamp

DROPPED = 1011  # the close code of a connection the sandbox drops on purpose
NOT_AUTHORIZED = 1008
INVALID_SYNTAX = {"T": "error", "code": 400, "msg": "invalid syntax"}
CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds", "corrections", "cancelErrors")


class Dropped(Exception):
    """The faults say this connection goes now."""


class Outbox:
    """One connection's data messages, sent through the stream faults. Messages go in batches (a
    bar's time, one trade update): a drop that falls due takes effect at the end of the batch, and
    a message held back goes after the next one, or before the stream next waits for news."""

    def __init__(self, faults: FaultState, encode: Callable[[list[dict]], Awaitable[None]]) -> None:
        self.faults, self._encode = faults, encode
        self._sent = 0
        self._held: dict | None = None
        self._drop_due = False
        self._generation = faults.drop_generation

    async def send(self, message: dict) -> None:
        if self._held is None and self.faults.hits("out_of_order"):
            self._held = message
            return
        await self._send_one(message)
        if self.faults.hits("duplicate"):
            await self._send_one(message)
        await self.flush()

    async def end_batch(self, account: PaperAccount) -> None:
        """Drop the connection here if the faults say so: after every N messages, or once the replayed
        clock has reached drop_at. Never before a batch is out: at `--speed 0` a client that reconnects
        misses nothing."""
        if self.faults.observe_time(account.clock.state()["timestamp"]) > self._generation:
            self._drop_due = True
        if self._drop_due:
            await self.flush()
            raise Dropped

    async def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            await self._send_one(held)

    async def _send_one(self, message: dict) -> None:
        await self._encode([message])
        self._sent += 1
        every = self.faults.faults.drop_every
        self._drop_due = self._drop_due or (every is not None and self._sent % every == 0)


class ConsumerPace:
    """`--speed 0`: the next bar is released once every subscribed consumer has been sent the last
    one (as fast as they take them; the socket's flow control holds the sandbox back)."""

    def __init__(self, account: PaperAccount) -> None:
        self.account = account
        self._sent_up_to: dict[int, int] = {}

    def caught_up(self, consumer: int, index: int) -> None:
        self._sent_up_to[consumer] = index
        self._release_when_all_caught_up()

    def leave(self, consumer: int) -> None:
        self._sent_up_to.pop(consumer, None)
        self._release_when_all_caught_up()

    def _release_when_all_caught_up(self) -> None:
        clock = self.account.clock
        if not self._sent_up_to or clock.released == len(clock.timeline) - 1:
            return
        if min(self._sent_up_to.values()) >= clock.released:
            self.account.advance(1)


class MarketDataStream:
    def __init__(self, account: PaperAccount, faults: FaultState, pace: ConsumerPace | None) -> None:
        self.account, self.faults, self.pace = account, faults, pace

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        with suppress(WebSocketDisconnect):  # a client gone before it subscribed
            await self._session(websocket)

    async def _session(self, websocket: WebSocket) -> None:
        uses_msgpack = "msgpack" in websocket.headers.get("content-type", "")

        async def send(messages: list[dict]) -> None:
            if uses_msgpack:
                await websocket.send_bytes(msgpack.packb(messages, datetime=False))
            else:
                await websocket.send_text(json.dumps([_as_json(message) for message in messages]))

        await send([{"T": "success", "msg": "connected"}])
        while (auth := await _receive(websocket)) is None or auth.get("action") != "auth":  # Alpaca's codes
            await send([INVALID_SYNTAX if auth is None else {"T": "error", "code": 401, "msg": "not authenticated"}])
        if not auth.get("key") or not auth.get("secret"):
            await send([{"T": "error", "code": 402, "msg": "auth failed"}])
            await websocket.close(NOT_AUTHORIZED)
            return
        await send([{"T": "success", "msg": "authenticated"}])
        subscribed: set[str] = set()
        subscribing = asyncio.Event()

        async def listen() -> None:
            while True:
                request = await _receive(websocket) or {}
                action, symbols = request.get("action"), request.get("bars") or []
                if not isinstance(symbols, list) or not all(isinstance(symbol, str) for symbol in symbols):
                    action = None
                if action == "subscribe":
                    subscribed.update(symbols)
                    subscribing.set()
                elif action == "unsubscribe":
                    subscribed.difference_update(symbols)
                else:
                    await send([INVALID_SYNTAX])
                    continue
                await send([{"T": "subscription", **{channel: [] for channel in CHANNELS}, "bars": sorted(subscribed)}])

        async def stream() -> None:
            await subscribing.wait()
            await self._send_bars(Outbox(self.faults, send), subscribed)

        await _serve(websocket, listen(), stream())

    async def _send_bars(self, outbox: Outbox, subscribed: set[str]) -> None:
        account, bars = self.account, self.account.clock.bars
        consumer, sent_up_to = id(outbox), account.clock.released
        try:
            while True:
                account.catch_up()
                while sent_up_to < account.clock.released:
                    sent_up_to += 1
                    for column, symbol in enumerate(bars.symbols):
                        if ("*" in subscribed or symbol in subscribed) and not np.isnan(bars.open[sent_up_to, column]):
                            await outbox.send(_bar_message(bars, sent_up_to, column))
                    await outbox.end_batch(account)
                if self.pace is not None:
                    self.pace.caught_up(consumer, sent_up_to)  # may release the next bar at once
                if sent_up_to == account.clock.released:
                    await outbox.flush()
                if sent_up_to == account.clock.released:  # checked again: the flush gave others a turn
                    await account.changed.wait(account.clock.seconds_to_next())
        finally:
            if self.pace is not None:
                self.pace.leave(consumer)


class TradeUpdateStream:
    def __init__(self, account: PaperAccount, faults: FaultState) -> None:
        self.account, self.faults = account, faults

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        with suppress(WebSocketDisconnect):  # a client gone before it listened
            await self._session(websocket)

    async def _session(self, websocket: WebSocket) -> None:
        async def send(messages: list[dict]) -> None:
            for message in messages:
                await websocket.send_text(json.dumps(message))

        auth = await _receive(websocket) or {}
        data = auth.get("data") if isinstance(auth.get("data"), dict) else {}
        authorized = auth.get("action") == "authenticate" and bool(data.get("key_id")) and bool(data.get("secret_key"))
        status = "authorized" if authorized else "unauthorized"
        await send([{"stream": "authorization", "data": {"action": "authenticate", "status": status}}])
        if not authorized:
            await websocket.close(NOT_AUTHORIZED)
            return
        listening = asyncio.Event()
        first_update = 0

        async def listen() -> None:
            nonlocal first_update
            while True:
                request = await _receive(websocket) or {}
                data = request.get("data")
                streams = data.get("streams") if request.get("action") == "listen" and isinstance(data, dict) else None
                if not isinstance(streams, list):
                    await send([{"stream": "error", "data": {"error_message": "invalid listen request"}}])
                    continue
                if "trade_updates" in streams and not listening.is_set():
                    first_update = len(self.account.trade_updates)
                    listening.set()
                await send([{"stream": "listening", "data": {"streams": [s for s in streams if s == "trade_updates"]}}])

        async def stream() -> None:
            await listening.wait()
            outbox, account, sent = Outbox(self.faults, send), self.account, first_update
            while True:
                account.catch_up()
                while sent < len(account.trade_updates):
                    await outbox.send({"stream": "trade_updates", "data": account.trade_updates[sent]})
                    sent += 1
                    await outbox.end_batch(account)
                await outbox.flush()
                if sent == len(account.trade_updates):  # checked again: the flush gave others a turn
                    await account.changed.wait(account.clock.seconds_to_next())

        await _serve(websocket, listen(), stream())


async def _serve(websocket: WebSocket, listen: Awaitable[None], stream: Awaitable[None]) -> None:
    """Read the client's requests and stream to it at once, until it leaves or the faults drop it."""
    tasks = [asyncio.ensure_future(listen), asyncio.ensure_future(stream)]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if isinstance(task.exception(), Dropped):
            await websocket.close(DROPPED)
        elif not isinstance(task.exception(), WebSocketDisconnect | OSError):
            task.result()


async def _receive(websocket: WebSocket) -> dict | None:
    """The client's next request, msgpack or JSON; None for anything else."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    try:
        if message.get("bytes") is not None:
            request = msgpack.unpackb(message["bytes"])
        else:
            request = json.loads(message.get("text") or "")
    except ValueError:
        return None
    return request if isinstance(request, dict) else None


def _bar_message(bars: Bars, index: int, column: int) -> dict:
    volume = bars.volume[index, column]
    return {
        "T": "b",
        "S": bars.symbols[column],
        "o": float(bars.open[index, column]),
        "h": float(bars.high[index, column]),
        "l": float(bars.low[index, column]),
        "c": float(bars.close[index, column]),
        "v": 0.0 if np.isnan(volume) else float(volume),
        "t": msgpack.Timestamp.from_unix_nano(int(bars.timestamps[index].astype("int64"))),
        "n": None,  # the store keeps neither, as over REST
        "vw": None,
    }


def _as_json(message: dict) -> dict:
    """A message for a JSON client: its time as RFC 3339 text."""
    if isinstance(message.get("t"), msgpack.Timestamp):
        return message | {"t": timestamp(message["t"].to_datetime())}
    return message
