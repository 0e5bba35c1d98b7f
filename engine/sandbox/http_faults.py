"""REST faults (engine.sandbox.faults) in front of the sandbox's routes, as ASGI middleware.

Refusals (429, 5xx) come before the route runs, so nothing is done; a lost reply and a slow one come
after it, so the work is done and the client cannot tell. The admin routes are never faulted.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.sandbox.faults import FaultState
from engine.sandbox.wire import AlpacaError

TOO_MANY_REQUESTS = 42910000
GATEWAY_TIMEOUT = 50410000


class InjectFaults:
    def __init__(self, app: ASGIApp, state: FaultState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/admin/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        if state.hits("rate_limit"):
            refusal = AlpacaError(429, TOO_MANY_REQUESTS, "too many requests")
            await refusal.response(headers={"Retry-After": f"{state.faults.retry_after:g}"})(scope, receive, send)
            return
        if state.hits("server_error"):
            status = state.server_error_status()
            await AlpacaError(status, status * 100_000, "internal server error").response()(scope, receive, send)
            return
        if scope["method"] == "POST" and state.hits("lost_reply"):
            await self.app(scope, receive, _discard)
            lost = AlpacaError(504, GATEWAY_TIMEOUT, "gateway timeout")
            await lost.response()(scope, receive, send)
            return
        if state.hits("slow"):
            send = _late(send, state.faults.delay)
        await self.app(scope, receive, send)


async def _discard(message: Message) -> None:
    pass


def _late(send: Send, seconds: float) -> Send:
    async def send_late(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(seconds)
        await send(message)

    return send_late
