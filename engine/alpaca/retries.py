"""One request to Alpaca, tried again while the failure is passing (with tenacity).

- 429 (rate limited): waited out, as long as the reply's `Retry-After` asks (capped), and said
  on standard error; not fatal unless the server keeps refusing.
- 500, 502, 503, 504, a dropped connection or a timeout: tried again after an exponential
  backoff, up to a number of tries, then an error naming the request and the status.
- Anything else (401, 403, 422, …) is the request's fault: an error at once.

The SDK's own retries are off (engine.alpaca.connection), so these are the only ones.
"""

from __future__ import annotations

import email.utils
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from alpaca.common.exceptions import APIError
from alpaca.common.rest import RESTClient
from tenacity import RetryCallState, Retrying, stop_never

from engine import progress
from engine.alpaca.connection import AlpacaConnection
from engine.alpaca.request import AlpacaRequest

RATE_LIMITED, PASSING = "rate limited", "passing"
PASSING_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = 5  # of one request meeting a server error, a dropped connection or a timeout
    rate_limit_waits: int = 20  # 429s waited out for one request before giving up
    first_wait: float = 1.0  # seconds; doubled after each passing failure
    max_wait: float = 60.0  # the longest wait between tries, Retry-After included

    @classmethod
    def of(cls, connection: AlpacaConnection) -> RetryPolicy:
        """The default policy, its waits capped by the connection's `max_wait`."""
        if connection.max_wait is None:
            return cls()
        return cls(first_wait=min(cls.first_wait, connection.max_wait), max_wait=connection.max_wait)


def send(client: RESTClient, request: AlpacaRequest, params: dict, policy: RetryPolicy, missing_ok: bool = False) -> object:
    """The reply's JSON to `request` (its method) with `params`, after the waits and tries the policy
    allows; None for a 404 when `missing_ok`."""
    failures: Counter[str] = Counter()

    def worth_another_try(state: RetryCallState) -> bool:
        kind = _kind(state.outcome.exception())
        if kind is None:
            return False
        failures[kind] += 1
        return failures[kind] <= (policy.rate_limit_waits if kind == RATE_LIMITED else policy.tries - 1)

    def wait(state: RetryCallState) -> float:
        asked = _retry_after(state.outcome.exception())
        if asked is not None:
            return min(asked, policy.max_wait)
        return min(policy.first_wait * 2 ** (failures[PASSING] - 1), policy.max_wait)

    def tell(state: RetryCallState) -> None:
        error, seconds = state.outcome.exception(), state.upcoming_sleep
        if _kind(error) == RATE_LIMITED:
            why = "as Retry-After asks" if _retry_after(error) is not None else "(no Retry-After)"
            progress.notice(f"{request}: rate limited (HTTP 429), waiting {seconds:.3g} s {why}")
        else:
            progress.notice(
                f"{request}: {_failure(error)}, trying again in {seconds:.3g} s (try {failures[PASSING] + 1} of {policy.tries})"
            )

    retrying = Retrying(retry=worth_another_try, stop=stop_never, wait=wait, before_sleep=tell, sleep=time.sleep)
    try:
        return retrying(getattr(client, request.method.lower()), request.path, params)
    except APIError as error:
        if missing_ok and error.status_code == 404:
            return None
        if _kind(error) == RATE_LIMITED:
            raise request.fail(f"still rate limited (HTTP 429) after waiting {policy.rate_limit_waits} times") from None
        tries = f" after {policy.tries} tries" if _kind(error) == PASSING else ""
        raise request.fail(f"{_failure(error, keys_hint=request.method == 'GET')}{tries}", error.status_code) from None
    except (requests.ConnectionError, requests.Timeout) as error:
        raise request.fail(f"{_failure(error)} after {policy.tries} tries") from None
    except ValueError as error:  # requests' JSONDecodeError is a ValueError
        raise request.fail(f"the reply is not JSON ({' '.join(str(error).split())})") from None


def _kind(error: BaseException | None) -> str | None:
    if isinstance(error, APIError):
        return RATE_LIMITED if error.status_code == 429 else PASSING if error.status_code in PASSING_STATUSES else None
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return PASSING
    return None


def _retry_after(error: BaseException | None) -> float | None:
    """Seconds a 429's Retry-After asks for (a count or an HTTP date), if it says."""
    if not isinstance(error, APIError) or error.status_code != 429 or error.response is None:
        return None
    text = error.response.headers.get("Retry-After", "").strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _failure(error: BaseException, keys_hint: bool = True) -> str:
    """What went wrong, in a few words; never the request's headers. A 401 or 403 is blamed on the keys
    when `keys_hint` (not for an order, which Alpaca refuses with 403 for want of buying power)."""
    if isinstance(error, requests.Timeout):
        return f"no reply from {_server(error)} in time"
    if isinstance(error, requests.ConnectionError):
        return f"cannot reach {_server(error)} (is the server running?)"
    status = error.status_code
    try:
        said = str(error.message)
    except (ValueError, TypeError, KeyError):  # the error body is not Alpaca's {"code", "message"}
        said = str(error)
    said = " ".join(said.split())[:200]
    hint = " (check APCA_API_KEY_ID and APCA_API_SECRET_KEY)" if keys_hint and status in (401, 403) else ""
    return f"HTTP {status}" + (f": {said}" if said else "") + hint


def _server(error: requests.RequestException) -> str:
    url = urlsplit(error.request.url if error.request is not None else "")
    return f"{url.scheme}://{url.netloc}" if url.netloc else "the server"
