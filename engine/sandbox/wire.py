"""Alpaca's JSON conventions, shared by every endpoint: errors as `{"code", "message"}`, times in
RFC 3339 UTC, money as strings, and the query parameters the SDK sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.data.timestamps import parse_utc

# Alpaca's error codes: the HTTP status followed by a detail number.
BAD_REQUEST = 40010000
UNAUTHORIZED = 40110000
FORBIDDEN = 40310000
NOT_FOUND = 40410000
UNPROCESSABLE = 42210000
SERVER_ERROR = 50010000


class AlpacaError(Exception):
    """A request the sandbox refuses, answered as Alpaca answers it (alpaca-py's APIError reads the body)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message}, status_code=self.status, headers=headers)


def invalid(message: str) -> AlpacaError:
    return AlpacaError(422, UNPROCESSABLE, message)


def timestamp(value: datetime) -> str:
    """A time as Alpaca writes it: RFC 3339 in UTC with a `Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(value: float) -> str:
    return repr(float(value))


def query_time(request: Request, name: str) -> pd.Timestamp | None:
    """A time parameter (RFC 3339, or a date), in UTC; a naive one is taken as UTC, as alpaca-py means it."""
    text = request.query_params.get(name)
    if not text:
        return None
    stamp = parse_utc(text)
    if stamp is None:
        raise AlpacaError(400, BAD_REQUEST, f"invalid {name}: {text!r}")
    return stamp


async def json_object(request: Request, what: str, empty: dict | None = None) -> dict:
    """The request's body, a JSON object (`what` names it in a refusal); `empty`, when given, stands
    for a body that is empty."""
    if empty is not None and not await request.body():
        return empty
    try:
        body = await request.json()
    except ValueError:
        raise invalid(f"{what} is not JSON") from None
    if not isinstance(body, dict):
        raise invalid(f"{what} is not a JSON object")
    return body


def query_int(request: Request, name: str, default: int, most: int) -> int:
    """A whole-number parameter from 1 to `most`."""
    text = request.query_params.get(name)
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= most:
        raise invalid(f"invalid {name}: {text!r} (a whole number from 1 to {most})")
    return number


def query_list(request: Request, name: str) -> list[str]:
    """A comma-separated parameter (alpaca-py joins lists with commas)."""
    return [item.strip() for item in request.query_params.get(name, "").split(",") if item.strip()]
