"""The symbols Alpaca knows: a fetch of bars or news for a symbol it lists no asset for is refused
before anything is fetched (its data API answers such a symbol with no data, as it answers a span
with none, so only the assets endpoint tells the two apart)."""

from __future__ import annotations

from engine.alpaca.connection import AlpacaConnection
from engine.alpaca.request import AlpacaRequest, AlpacaRequestError
from engine.alpaca.retries import RetryPolicy, send


def check_known(connection: AlpacaConnection, symbols: list[str], policy: RetryPolicy) -> None:
    """Refuse `symbols` if Alpaca (or ENGINE_ALPACA_URL's server) lists no asset for some of them."""
    client = connection.trading_client()
    unknown = [
        symbol
        for symbol in symbols
        if send(client, AlpacaRequest(f"/assets/{symbol}", "v2", (symbol,)), {}, policy, missing_ok=True) is None
    ]
    if unknown:
        names = ", ".join(unknown)
        raise AlpacaRequestError(f"unknown symbol: {connection.trading_server} lists no asset for {names} (nothing was fetched)")
