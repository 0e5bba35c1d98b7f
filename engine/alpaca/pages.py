"""Every page of a paged Alpaca reply, one request at a time.

The SDK's own paging (`RESTClient._get_marketdata`) follows `next_page_token` until it is null,
so a server that hands back a token it gave before sends it round forever, and it retries
nothing of its own choosing. Paging here sends each page through `engine.alpaca.retries`, and a
token seen before, or one that is not text, is a bad reply naming the request.
"""

from __future__ import annotations

from collections.abc import Iterator

from alpaca.common.rest import RESTClient

from engine.alpaca.request import AlpacaRequest
from engine.alpaca.retries import RetryPolicy, send


def pages(client: RESTClient, request: AlpacaRequest, params: dict, policy: RetryPolicy) -> Iterator[tuple[AlpacaRequest, dict]]:
    """Each page's request (for messages) and its reply, a JSON object, until the last page."""
    seen: set[str] = set()
    token = None
    while True:
        reply = send(client, request, {**params, "page_token": token}, policy)
        if not isinstance(reply, dict):
            raise request.fail(f"the reply is not a JSON object (got {type(reply).__name__})")
        yield request, reply
        token = reply.get("next_page_token")
        if token is None:
            return
        if not isinstance(token, str) or not token:
            raise request.fail(f"next_page_token is {token!r}: a page token is text, and null on the last page")
        if token in seen:
            raise request.fail(f"next_page_token {token!r} was given before: the pages would loop")
        seen.add(token)
        request = request.next_page()
