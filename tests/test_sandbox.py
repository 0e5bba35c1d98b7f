"""`engine sandbox` through the real alpaca-py clients, on loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.news import NewsClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import NewsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from sandbox import KEY, SECRET, sandbox_server

from engine.news.store import NewsStore


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _fetched(bar_set, symbol: str) -> pd.DataFrame:
    bars = bar_set.data.get(symbol, [])
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex([bar.timestamp for bar in bars]).as_unit("ns") if bars else [],
            **{field: [getattr(bar, field) for bar in bars] for field in ("open", "high", "low", "close", "volume")},
        }
    )


def _stored(store, symbol: str, timeframe: str, start: str, end: str) -> pd.DataFrame:
    frame = store.read_table(symbol, timeframe).to_pandas()
    within = (frame["timestamp"] >= pd.Timestamp(start, tz="UTC")) & (frame["timestamp"] <= pd.Timestamp(end, tz="UTC"))
    return frame[within].reset_index(drop=True)


def test_bars_over_many_pages_equal_the_store(sandbox_url, store):
    client = StockHistoricalDataClient(KEY, SECRET, url_override=sandbox_url)
    start, end = "2021-03-01", "2021-04-15"
    request = StockBarsRequest(
        symbol_or_symbols=["SYN03", "SYN00", "SYN11"], timeframe=TimeFrame.Hour, start=_utc(start), end=_utc(end)
    )
    bar_set = client.get_stock_bars(request)  # 3 × 231 bars in pages of 100: the pages cross symbols
    assert sorted(bar_set.data) == ["SYN00", "SYN03", "SYN11"]
    for symbol in bar_set.data:
        expected = _stored(store, symbol, "1h", start, end)
        assert len(expected) > 200
        pd.testing.assert_frame_equal(_fetched(bar_set, symbol), expected, check_dtype=False)


def test_bar_timeframes_map_onto_the_store(sandbox_url, store):
    client = StockHistoricalDataClient(KEY, SECRET, url_override=sandbox_url)
    start, end = "2008-01-01", "2008-12-31"
    daily = client.get_stock_bars(
        StockBarsRequest(symbol_or_symbols=["SP500", "NASDAQ"], timeframe=TimeFrame.Day, start=_utc(start), end=_utc(end))
    )
    for symbol in ("SP500", "NASDAQ"):
        pd.testing.assert_frame_equal(_fetched(daily, symbol), _stored(store, symbol, "1d", start, end), check_dtype=False)
    # The store holds no 15-minute bars, no hourly SP500 and no months: empty, as Alpaca answers an unknown range.
    for timeframe, symbols in [
        (TimeFrame(15, TimeFrameUnit.Minute), ["SYN00"]),
        (TimeFrame.Hour, ["SP500"]),
        (TimeFrame.Month, ["SP500"]),
    ]:
        assert client.get_stock_bars(StockBarsRequest(symbol_or_symbols=symbols, timeframe=timeframe)).data == {}


def test_bars_limit_and_wire_shape(sandbox_url):
    headers = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
    query = {"symbols": "SYN01,SYN02", "timeframe": "1Hour", "start": "2021-01-04T00:00:00Z", "limit": 5}
    page = requests.get(f"{sandbox_url}/v2/stocks/bars", params=query, headers=headers, timeout=10).json()
    assert list(page["bars"]) == ["SYN01"] and len(page["bars"]["SYN01"]) == 5
    assert set(page["bars"]["SYN01"][0]) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
    assert page["bars"]["SYN01"][0]["t"] == "2021-01-04T14:30:00Z"
    seen = [bar["t"] for bar in page["bars"]["SYN01"]]
    while page["next_page_token"] is not None:
        assert page["next_page_token"] != ""
        page = requests.get(
            f"{sandbox_url}/v2/stocks/bars",
            params={**query, "end": "2021-01-05T23:00:00Z", "page_token": page["next_page_token"]},
            headers=headers,
            timeout=10,
        ).json()
        seen += [bar["t"] for bars in page["bars"].values() for bar in bars]
    assert len(seen) == 14 * 2 and len(set(seen)) == 14  # two days of seven bars, for each symbol
    empty = requests.get(
        f"{sandbox_url}/v2/stocks/bars", params={**query, "start": "2030-01-01"}, headers=headers, timeout=10
    ).json()
    assert empty == {"bars": {}, "next_page_token": None}


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"symbols": "SYN01", "timeframe": "1Fortnight"}, 422),
        ({"timeframe": "1Hour"}, 422),
        ({"symbols": "SYN01", "timeframe": "1Hour", "limit": 0}, 422),
        ({"symbols": "SYN01", "timeframe": "1Hour", "page_token": "not-ours"}, 400),
        ({"symbols": "SYN01", "timeframe": "1Hour", "start": "yesterday-ish"}, 400),
    ],
)
def test_bad_bar_requests_get_alpaca_errors(sandbox_url, query, status):
    headers = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
    reply = requests.get(f"{sandbox_url}/v2/stocks/bars", params=query, headers=headers, timeout=10)
    assert reply.status_code == status
    assert set(reply.json()) == {"code", "message"}


def test_news_pages(tmp_path):
    stamps = pd.date_range("2024-01-02 14:00", periods=120, freq="h", tz="UTC")
    NewsStore(tmp_path / "data" / "news").add(
        pd.DataFrame(
            {
                "id": range(1000, 1120),
                "created_at": stamps,
                "updated_at": stamps,
                "symbols": [["AAPL"] if i % 3 else ["AAPL", "MSFT"] for i in range(120)],
                "headline": [f"headline {i}" for i in range(120)],
                "summary": "",
                "source": "benzinga",
                "url": [f"https://example.com/{i}" for i in range(120)],
            }
        ),
        "test",
    )
    with sandbox_server(tmp_path, page_size=7) as url:
        client = NewsClient(KEY, SECRET, url_override=url)
        everything = client.get_news(NewsRequest()).data["news"]
        assert [article.id for article in everything] == list(range(1119, 999, -1))  # newest first, as Alpaca
        assert everything[0].headline == "headline 119" and everything[0].author == "" and everything[0].content == ""
        assert everything[0].created_at == stamps[-1]
        msft = client.get_news(NewsRequest(symbols="MSFT", start=stamps[10], end=stamps[60], sort="asc")).data["news"]
        assert [article.id for article in msft] == [1000 + i for i in range(12, 61, 3)]


def test_missing_keys_are_refused(sandbox_url):
    reply = requests.get(f"{sandbox_url}/v2/stocks/bars", params={"symbols": "SYN01", "timeframe": "1Hour"}, timeout=10)
    assert reply.status_code == 401 and set(reply.json()) == {"code", "message"}
    client = StockHistoricalDataClient(KEY, SECRET, url_override=sandbox_url)
    client._api_key = client._secret_key = ""  # alpaca-py refuses to be built without keys; send empty ones
    with pytest.raises(APIError) as raised:
        client.get_stock_bars(StockBarsRequest(symbol_or_symbols="SYN01", timeframe=TimeFrame.Hour))
    assert raised.value.status_code == 401 and raised.value.code == 40110000
