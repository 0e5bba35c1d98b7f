"""The sandbox's Starlette app: Alpaca's routes, its key check and its error shape.

Middleware runs in the order given: the key check first, then any `extra` (the place for faults
injected in front of the routes).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.sandbox.market_data import MarketData
from engine.sandbox.wire import NOT_FOUND, UNAUTHORIZED, AlpacaError

KEY_HEADERS = (b"apca-api-key-id", b"apca-api-secret-key")


class RequireKeys:
    """Alpaca refuses a request without its key pair; the sandbox accepts any pair and never keeps or logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            sent = {name for name, value in scope["headers"] if value}
            if not sent.issuperset(KEY_HEADERS):
                unauthorized = AlpacaError(
                    401, UNAUTHORIZED, "request is not authorized: APCA-API-KEY-ID and APCA-API-SECRET-KEY"
                )
                await unauthorized.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(market: MarketData, extra: Sequence[Middleware] = ()) -> Starlette:
    routes = [
        Route("/v2/stocks/bars", market.get_bars),
        Route("/v1beta1/news", market.get_news),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequireKeys), *extra],
        exception_handlers={AlpacaError: _alpaca_error, HTTPException: _http_error},
    )


async def _alpaca_error(request: Request, error: AlpacaError) -> JSONResponse:
    return error.response()


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    """Starlette's own refusals (no such route, wrong method) in Alpaca's shape."""
    code = NOT_FOUND if error.status_code == 404 else error.status_code * 100_000
    return JSONResponse({"code": code, "message": error.detail}, status_code=error.status_code)
