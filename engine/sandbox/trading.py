"""Trading REST as alpaca-py's TradingClient uses it: a thin adapter over the sandbox's paper account
(engine.sandbox.paper_account). Each endpoint brings the account up to the replayed clock, reads the
request, asks the account, and answers in Alpaca's JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.sandbox.clock import ReplayClock
from engine.sandbox.paper_account import PaperAccount
from engine.sandbox.wire import NOT_FOUND, AlpacaError, invalid, json_object, query_int, query_list, query_time, timestamp


class TradingEndpoints:
    def __init__(self, account: PaperAccount) -> None:
        self.account = account

    async def get_account(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        return JSONResponse(self.account.summary())

    async def get_clock(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        return JSONResponse(clock_json(self.account.clock))

    async def get_positions(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        return JSONResponse([self.account.position_json(symbol) for symbol in sorted(self.account.held())])

    async def get_position(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        symbol = request.path_params["symbol"].upper()
        if symbol not in self.account.held():
            raise AlpacaError(404, NOT_FOUND, "position does not exist")
        return JSONResponse(self.account.position_json(symbol))

    async def submit_order(self, request: Request) -> JSONResponse:
        order = self.account.place(await json_object(request, "the order"))
        return JSONResponse(self.account.order_json(order))

    async def list_orders(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        status = request.query_params.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise invalid(f"invalid status: {status!r} (open, closed or all)")
        direction = request.query_params.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise invalid(f"invalid direction: {direction!r} (asc or desc)")
        after, until = query_time(request, "after"), query_time(request, "until")
        symbols = {symbol.upper() for symbol in query_list(request, "symbols")}
        chosen = [
            order
            for order in self.account.orders
            if (status == "all" or order.is_open == (status == "open"))
            and (after is None or order.submitted_at > after)
            and (until is None or order.submitted_at < until)
            and (not symbols or order.symbol in symbols)
        ]
        if direction == "desc":
            chosen.reverse()
        limit = query_int(request, "limit", 50, 500)
        return JSONResponse([self.account.order_json(order) for order in chosen[:limit]])

    async def get_order(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        return JSONResponse(self.account.order_json(self.account.order(request.path_params["order_id"])))

    async def get_order_by_client_id(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        order = self.account.by_client_order_id(request.query_params.get("client_order_id", ""))
        return JSONResponse(self.account.order_json(order))

    async def cancel_order(self, request: Request) -> Response:
        self.account.catch_up()
        self.account.cancel(self.account.order(request.path_params["order_id"]))
        return Response(status_code=204)

    async def cancel_orders(self, request: Request) -> JSONResponse:
        self.account.catch_up()
        canceled = [order for order in self.account.orders if order.is_open]
        for order in canceled:
            self.account.cancel(order)
        body = [{"id": order.id, "status": 200, "body": self.account.order_json(order)} for order in canceled]
        return JSONResponse(body, status_code=207)


def clock_json(clock: ReplayClock) -> dict:
    return {name: value if isinstance(value, bool) else timestamp(value) for name, value in clock.state().items()}
