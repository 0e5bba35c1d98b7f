"""The sandbox's admin endpoints, for tests and scripted rehearsals: move the replayed clock, read or
change the faults in force while it runs, and reset the paper account as Alpaca's dashboard does.
Never faulted themselves."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.sandbox.faults import Faults, FaultSpecError, FaultState
from engine.sandbox.paper_account import PaperAccount
from engine.sandbox.trading import clock_json
from engine.sandbox.wire import invalid, json_object


class Admin:
    def __init__(self, account: PaperAccount, faults: FaultState) -> None:
        self.account, self.faults = account, faults

    async def advance(self, request: Request) -> JSONResponse:
        """Release the next N bars (`{"bars": N}`, default 1) and answer the clock."""
        count = (await json_object(request, "the body", empty={})).get("bars", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise invalid('advance takes {"bars": N}, N a whole number of bars')
        self.account.advance(count)
        return JSONResponse(clock_json(self.account.clock))

    async def reset(self, request: Request) -> JSONResponse:
        """Reset the paper account: its starting cash, no positions, no orders."""
        self.account.reset()
        return JSONResponse({"cash": self.account.cash})

    async def get_faults(self, request: Request) -> JSONResponse:
        return JSONResponse({"faults": self.faults.faults.describe(), "injected": dict(self.faults.injected)})

    async def set_faults(self, request: Request) -> JSONResponse:
        """Put `{"faults": SPEC}` in force in place of the faults before ("" for none), dice thrown afresh."""
        spec = (await json_object(request, "the body", empty={})).get("faults")
        if not isinstance(spec, str):
            raise invalid('faults takes {"faults": SPEC}, like {"faults": "rate_limit=0.2,drop_every=50"}')
        try:
            self.faults.set(Faults.parse(spec))
        except FaultSpecError as error:
            raise invalid(f"faults: {error}") from None
        return await self.get_faults(request)
