"""Keys and server for the alpaca-py clients: only Alpaca's variables, a placeholder pair for a
server on loopback, the SDK's own retries off, a timeout on every request; and the store's
timeframes as Alpaca's."""

from __future__ import annotations

import pytest
from alpaca.data.historical.stock import StockHistoricalDataClient

from engine.alpaca.connection import TIMEOUT, AlpacaConnection, AlpacaSetupError
from engine.alpaca.span import Span, SpanError
from engine.alpaca.timeframes import to_alpaca
from engine.data.store import DataStoreError

KEYS = {"APCA_API_KEY_ID": "key-id-7f3a9c", "APCA_API_SECRET_KEY": "secret-51e0d2b8"}


def test_keys_come_from_alpacas_variables_and_never_show():
    connection = AlpacaConnection.from_env(KEYS)
    assert (connection.server, connection.data_server) == (None, "https://data.alpaca.markets")
    assert "7f3a9c" not in repr(connection) and "51e0d2b8" not in repr(connection)
    client = connection.data_client()
    assert isinstance(client, StockHistoricalDataClient) and client._base_url == "https://data.alpaca.markets"
    assert connection.trading_client()._base_url == "https://paper-api.alpaca.markets"


def test_a_server_on_loopback_needs_no_keys_and_every_client_goes_there():
    connection = AlpacaConnection.from_env({"ENGINE_ALPACA_URL": "http://127.0.0.1:8765/"})
    for client in (connection.data_client(), connection.news_client(), connection.trading_client()):
        assert client._base_url == "http://127.0.0.1:8765"
        assert client._retry == 0 and client._retry_codes == []  # the engine decides what is tried again
        assert client._session.request.__func__.__qualname__.startswith("_SessionWithTimeout")
    assert AlpacaConnection.from_env({"ENGINE_ALPACA_URL": "http://localhost:9"}).key == "engine-sandbox"
    assert TIMEOUT[0] > 0 and TIMEOUT[1] > 0


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "no Alpaca keys: set APCA_API_KEY_ID and APCA_API_SECRET_KEY, or point ENGINE_ALPACA_URL at"),
        ({"ENGINE_ALPACA_URL": "https://example.com"}, "no Alpaca keys"),
        ({"APCA_API_KEY_ID": "k"}, "APCA_API_SECRET_KEY is not set"),
        (KEYS | {"ENGINE_ALPACA_URL": "http://user:pw@127.0.0.1:1"}, "ENGINE_ALPACA_URL holds a user name or password"),
        (KEYS | {"ENGINE_ALPACA_URL": "127.0.0.1:8765"}, "ENGINE_ALPACA_URL='127.0.0.1:8765' is not an http(s) address"),
        (
            KEYS | {"ENGINE_ALPACA_URL": "http://127.0.0.1:1/v2"},
            "ENGINE_ALPACA_URL='http://127.0.0.1:1/v2': give the server only",
        ),
    ],
)
def test_unusable_settings_are_one_line_naming_the_variable(environ, message):
    with pytest.raises(AlpacaSetupError) as raised:
        AlpacaConnection.from_env(environ)
    assert str(raised.value).startswith(message) and "pw" not in str(raised.value)


def test_store_timeframes_map_onto_alpacas():
    assert [to_alpaca(timeframe).value for timeframe in ("1m", "5m", "15m", "1h", "1d", "1w")] == [
        "1Min", "5Min", "15Min", "1Hour", "1Day", "1Week"
    ]  # fmt: skip
    with pytest.raises(DataStoreError, match="Alpaca has no 2d bars"):
        to_alpaca("2d")


def test_a_span_reads_dates_and_times_in_utc():
    span = Span.parse("2024-01-02", "2024-01-03")
    assert (str(span.start), str(span.end)) == ("2024-01-02 00:00:00+00:00", "2024-01-03 23:59:59.999999+00:00")
    assert str(Span.parse("2024-01-02T09:30-05:00", "2024-01-02T16:00").end) == "2024-01-02 16:00:00+00:00"
    with pytest.raises(SpanError, match="--end 2024-01-01 is before --start 2024-01-02"):
        Span.parse("2024-01-02", "2024-01-01")
    with pytest.raises(SpanError, match="--start 'soon'"):
        Span.parse("soon")
    with pytest.raises(SpanError, match=r"^--start 2999-01-01 is in the future$"):  # no --end: up to now
        Span.parse("2999-01-01")
