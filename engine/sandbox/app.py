"""The sandbox's Starlette app: Alpaca's routes and streams, its key check and its error shape, over
one workspace.

Middleware runs in this order: the key check, the faults in force, then any `extra` (tests put
scripted replies there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.data.store import bar_length, normalize_symbol
from engine.execution.conventions import ExecutionRules
from engine.sandbox.admin import Admin
from engine.sandbox.clock import ReplayClock, replayed_bars
from engine.sandbox.faults import Faults, FaultState
from engine.sandbox.http_faults import InjectFaults
from engine.sandbox.market_data import MAX_BARS_PAGE, MarketData
from engine.sandbox.paper_account import PaperAccount
from engine.sandbox.streams import ConsumerPace, MarketDataStream, TradeUpdateStream
from engine.sandbox.trading import TradingEndpoints
from engine.sandbox.wire import NOT_FOUND, UNAUTHORIZED, AlpacaError
from engine.strategies.schema import CostSpec, ExecutionSpec
from engine.workspace import Workspace

KEY_HEADERS = (b"apca-api-key-id", b"apca-api-secret-key")


@dataclass(frozen=True)
class SandboxOptions:
    symbols: tuple[str, ...] = ()  # none: every symbol the store holds at `timeframe`
    timeframe: str = "1h"
    start: pd.Timestamp | None = None  # the first bar at or after it is released at start; None: the last
    # Bars released per bar length of real time; 0: as fast as the stream's consumers take them;
    # None: only through POST /admin/advance (deterministic, what the tests use).
    speed: float | None = None
    seed: int = 0
    page_size: int = MAX_BARS_PAGE
    faults: Faults = Faults()


def sandbox_app(workspace: Workspace, options: SandboxOptions, extra: Sequence[Middleware] = ()) -> Starlette:
    """The sandbox over a workspace's bar and news stores, with a paper account on the replayed bars.
    The account starts with the engine's default cash and trades under its default costs."""
    symbols = [normalize_symbol(symbol) for symbol in options.symbols] or sorted(
        series.symbol for series in workspace.data.list() if series.timeframe == options.timeframe and series.damage is None
    )
    bars = replayed_bars(workspace.data, symbols, options.timeframe)
    costs, execution = CostSpec(), ExecutionSpec()
    rules = ExecutionRules(costs.commission, costs.slippage, execution.initial_cash, min_commission=costs.min_commission)
    faults = FaultState(options.faults, options.seed)
    account = PaperAccount(ReplayClock(bars, bar_length(options.timeframe), options.start, options.speed or 0.0), rules, faults)
    pace = ConsumerPace(account) if options.speed == 0 else None
    replayed_now = None if options.start is None else lambda: account.clock.state()["timestamp"]
    market = MarketData(workspace.data, workspace.news, replayed_now, options.page_size)
    return create_app(market, account, faults, pace, extra)


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


def create_app(
    market: MarketData,
    account: PaperAccount,
    faults: FaultState,
    pace: ConsumerPace | None = None,
    extra: Sequence[Middleware] = (),
) -> Starlette:
    admin = Admin(account, faults)
    trading = TradingEndpoints(account)
    bar_stream = MarketDataStream(account, faults, pace)
    routes = [
        Route("/v2/stocks/bars", market.get_bars),
        Route("/v1beta1/news", market.get_news),
        Route("/v2/assets/{symbol}", market.get_asset),
        Route("/v2/account", trading.get_account),
        Route("/v2/clock", trading.get_clock),
        Route("/v2/positions", trading.get_positions),
        Route("/v2/positions/{symbol}", trading.get_position),
        Route("/v2/orders", trading.list_orders, methods=["GET"]),
        Route("/v2/orders", trading.submit_order, methods=["POST"]),
        Route("/v2/orders", trading.cancel_orders, methods=["DELETE"]),
        Route("/v2/orders:by_client_order_id", trading.get_order_by_client_id),
        Route("/v2/orders/{order_id}", trading.get_order, methods=["GET"]),
        Route("/v2/orders/{order_id}", trading.cancel_order, methods=["DELETE"]),
        WebSocketRoute("/v2/iex", bar_stream.serve),
        WebSocketRoute("/v2/sip", bar_stream.serve),
        WebSocketRoute("/stream", TradeUpdateStream(account, faults).serve),
        Route("/admin/advance", admin.advance, methods=["POST"]),
        Route("/admin/reset", admin.reset, methods=["POST"]),
        Route("/admin/faults", admin.get_faults, methods=["GET"]),
        Route("/admin/faults", admin.set_faults, methods=["PUT"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequireKeys), Middleware(InjectFaults, state=faults), *extra],
        exception_handlers={AlpacaError: _alpaca_error, HTTPException: _http_error},
    )


async def _alpaca_error(request: Request, error: AlpacaError) -> JSONResponse:
    return error.response()


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    """Starlette's own refusals (no such route, wrong method) in Alpaca's shape."""
    code = NOT_FOUND if error.status_code == 404 else error.status_code * 100_000
    return JSONResponse({"code": code, "message": error.detail}, status_code=error.status_code)
