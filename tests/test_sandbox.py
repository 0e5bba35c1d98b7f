"""`engine sandbox` through the real alpaca-py clients, on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.news import NewsClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import NewsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest

from engine.data.day_stamps import alpaca_stamps
from engine.data.store import DataStore
from engine.news.store import NewsStore
from engine.sandbox.clock import ReplayClock, replayed_bars
from tests.sandbox import KEY, SECRET, sandbox_server, stream_bars

HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}


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
    """The stored bars as Alpaca stamps them (a day's at midnight New York) within start and end."""
    frame = store.read_table(symbol, timeframe).to_pandas()
    frame["timestamp"] = alpaca_stamps(pd.DatetimeIndex(frame["timestamp"]), timeframe)
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
    stamps = [bar.timestamp for bar in daily.data["SP500"]]
    assert (stamps[0].isoformat(), stamps[-1].isoformat()) == ("2008-01-02T05:00:00+00:00", "2008-12-30T05:00:00+00:00")
    assert datetime(2008, 7, 1, 4, tzinfo=UTC) in stamps  # midnight in New York, daylight saving time
    # The store holds no 15-minute bars, no hourly SP500 and no months: empty, as Alpaca answers an unknown range.
    for timeframe, symbols in [
        (TimeFrame(15, TimeFrameUnit.Minute), ["SYN00"]),
        (TimeFrame.Hour, ["SP500"]),
        (TimeFrame.Month, ["SP500"]),
    ]:
        assert client.get_stock_bars(StockBarsRequest(symbol_or_symbols=symbols, timeframe=timeframe)).data == {}


@pytest.mark.parametrize("timeframe", ["2Day", "60Min", "24Hour", "2Week", "5Month", "1Year"])
def test_a_timeframe_alpaca_does_not_serve_is_422(sandbox_url, timeframe):
    query = {"symbols": "SYN01", "timeframe": timeframe, "start": "2021-01-04T00:00:00Z"}
    reply = requests.get(f"{sandbox_url}/v2/stocks/bars", params=query, headers=HEADERS, timeout=10)
    assert reply.status_code == 422 and reply.json()["message"].startswith(f"invalid timeframe: {timeframe!r}")


def test_bars_limit_and_wire_shape(sandbox_url):
    query = {"symbols": "SYN01,SYN02", "timeframe": "1Hour", "start": "2021-01-04T00:00:00Z", "limit": 5}
    page = requests.get(f"{sandbox_url}/v2/stocks/bars", params=query, headers=HEADERS, timeout=10).json()
    assert list(page["bars"]) == ["SYN01"] and len(page["bars"]["SYN01"]) == 5
    assert set(page["bars"]["SYN01"][0]) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
    assert page["bars"]["SYN01"][0]["t"] == "2021-01-04T14:30:00Z"
    seen = [bar["t"] for bar in page["bars"]["SYN01"]]
    while page["next_page_token"] is not None:
        assert page["next_page_token"] != ""
        page = requests.get(
            f"{sandbox_url}/v2/stocks/bars",
            params={**query, "end": "2021-01-05T23:00:00Z", "page_token": page["next_page_token"]},
            headers=HEADERS,
            timeout=10,
        ).json()
        seen += [bar["t"] for bars in page["bars"].values() for bar in bars]
    assert len(seen) == 14 * 2 and len(set(seen)) == 14  # two days of seven bars, for each symbol
    empty = requests.get(
        f"{sandbox_url}/v2/stocks/bars", params={**query, "start": "2030-01-01"}, headers=HEADERS, timeout=10
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
    reply = requests.get(f"{sandbox_url}/v2/stocks/bars", params=query, headers=HEADERS, timeout=10)
    assert reply.status_code == status
    assert set(reply.json()) == {"code", "message"}


def test_news_pages(tmp_path, store):
    DataStore(tmp_path / "data").write(store.read_table("SYN00", "1h").to_pandas(), "SYN00", "1h", "test", "test")  # to trade
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


@pytest.fixture
def trading(sample_home):
    """A TradingClient on a sandbox trading SYN00 and SYN01 from Monday 2021-03-01, and a function that
    releases the next N hourly bars."""
    with sandbox_server(sample_home, symbols=("SYN00", "SYN01"), start=pd.Timestamp("2021-03-01", tz="UTC")) as url:

        def advance(bars: int) -> dict:
            reply = requests.post(f"{url}/admin/advance", json={"bars": bars}, headers=HEADERS, timeout=10)
            reply.raise_for_status()
            return reply.json()

        yield TradingClient(KEY, SECRET, paper=True, url_override=url), advance


def _bar(store, symbol: str, at: str) -> pd.Series:
    frame = store.read_table(symbol, "1h").to_pandas().set_index("timestamp")
    return frame.loc[pd.Timestamp(at, tz="UTC")]


def test_market_order_fills_at_the_next_open_with_the_engines_costs(trading, store):
    client, advance = trading
    assert float(client.get_account().cash) == 100_000.0
    clock = client.get_clock()
    assert clock.timestamp == pd.Timestamp("2021-03-01 15:30", tz="UTC") and clock.is_open
    assert clock.next_close == pd.Timestamp("2021-03-01 21:30", tz="UTC")
    assert clock.next_open == pd.Timestamp("2021-03-02 14:30", tz="UTC")

    buy = MarketOrderRequest(symbol="SYN00", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id="run-1")
    placed = client.submit_order(buy)
    assert placed.status == OrderStatus.NEW and placed.client_order_id == "run-1" and placed.filled_at is None
    with pytest.raises(APIError) as reused:
        client.submit_order(buy)
    assert reused.value.status_code == 422 and reused.value.message == "client_order_id must be unique"

    advance(1)  # the 15:30 bar: the order fills at its open
    filled = client.get_order_by_client_id("run-1")
    assert filled.id == placed.id and filled.status == OrderStatus.FILLED
    assert client.get_order_by_id(placed.id).model_dump() == filled.model_dump()
    bar = _bar(store, "SYN00", "2021-03-01 15:30")
    price = bar["open"] * (1 + 5e-4)  # the engine's defaults: 5 bps slippage, 10 bps commission
    assert float(filled.filled_avg_price) == pytest.approx(price, rel=1e-12)
    assert float(filled.filled_qty) == 10 and filled.filled_at == pd.Timestamp("2021-03-01 15:30", tz="UTC")
    cash = 100_000.0 - 10 * price * (1 + 1e-3)
    account = client.get_account()
    assert float(account.cash) == pytest.approx(cash, rel=1e-12)
    assert float(account.equity) == pytest.approx(cash + 10 * bar["close"], rel=1e-12)
    (position,) = client.get_all_positions()
    assert position.symbol == "SYN00" and float(position.qty) == 10
    assert float(position.avg_entry_price) == pytest.approx(price, rel=1e-12)
    assert float(position.market_value) == pytest.approx(10 * bar["close"], rel=1e-12)

    sell = client.submit_order(MarketOrderRequest(symbol="SYN00", qty=4, side=OrderSide.SELL, time_in_force=TimeInForce.GTC))
    advance(1)
    sold_at = _bar(store, "SYN00", "2021-03-01 16:30")["open"] * (1 - 5e-4)
    assert float(client.get_order_by_id(sell.id).filled_avg_price) == pytest.approx(sold_at, rel=1e-12)
    assert float(client.get_account().cash) == pytest.approx(cash + 4 * sold_at * (1 - 1e-3), rel=1e-12)
    assert float(client.get_open_position("SYN00").qty) == 6


def test_orders_are_listed_cancelled_and_refused(trading, store):
    client, advance = trading
    low = _bar(store, "SYN01", "2021-03-01 14:30")["close"] * 0.5
    limit = client.submit_order(
        LimitOrderRequest(symbol="SYN01", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=round(low, 2))
    )
    day = client.submit_order(
        LimitOrderRequest(symbol="SYN01", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=round(low, 2))
    )
    market = client.submit_order(
        MarketOrderRequest(symbol="SYN00", notional=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    advance(1)
    is_open = GetOrdersRequest(status=QueryOrderStatus.OPEN)
    assert [order.id for order in client.get_orders(is_open)] == [day.id, limit.id]  # newest first
    client.cancel_order_by_id(limit.id)
    assert client.get_order_by_id(limit.id).status == OrderStatus.CANCELED
    with pytest.raises(APIError) as again:
        client.cancel_order_by_id(limit.id)
    assert again.value.status_code == 422
    advance(7)  # into Tuesday: Monday's day order expires unfilled
    assert client.get_order_by_id(day.id).status == OrderStatus.EXPIRED
    closed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED, direction="asc"))
    assert [(order.id, order.status) for order in closed] == [
        (limit.id, OrderStatus.CANCELED),
        (day.id, OrderStatus.EXPIRED),
        (market.id, OrderStatus.FILLED),
    ]
    assert float(client.get_order_by_id(market.id).filled_qty) * float(client.get_order_by_id(market.id).filled_avg_price) == (
        pytest.approx(1000.0)
    )
    only_syn00 = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, symbols=["SYN00"]))
    assert [order.id for order in only_syn00] == [market.id]

    pending = [
        client.submit_order(
            LimitOrderRequest(symbol=s, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1.0)
        )
        for s in ("SYN00", "SYN01")
    ]
    assert sorted(str(reply.id) for reply in client.cancel_orders()) == sorted(str(order.id) for order in pending)
    assert client.get_orders(is_open) == []

    for request, status, message in [
        (
            MarketOrderRequest(symbol="SYN00", qty=10**6, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
            403,
            "insufficient buying power",
        ),
        (MarketOrderRequest(symbol="SYN01", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY), 403, "insufficient qty"),
        (MarketOrderRequest(symbol="SP500", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY), 422, "not traded"),
        (MarketOrderRequest(symbol="SYN00", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.IOC), 422, "time_in_force"),
    ]:
        with pytest.raises(APIError) as refused:
            client.submit_order(request)
        assert refused.value.status_code == status and message in refused.value.message
    with pytest.raises(APIError) as missing:
        client.get_order_by_client_id("never-sent")
    assert missing.value.status_code == 404


def test_a_sale_of_a_hair_more_than_is_held_or_a_buy_past_the_cash_is_refused_as_at_alpaca(trading):
    client, advance = trading
    client.submit_order(MarketOrderRequest(symbol="SYN00", notional=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    advance(1)
    held = float(client.get_open_position("SYN00").qty)
    assert held != int(held)
    with pytest.raises(APIError) as refused:
        client.submit_order(
            MarketOrderRequest(symbol="SYN00", qty=held + 2.5e-10, side=OrderSide.SELL, time_in_force=TimeInForce.DAY)
        )
    assert refused.value.status_code == 403 and "insufficient qty" in refused.value.message
    buying_power = float(client.get_account().buying_power)
    with pytest.raises(APIError) as refused:
        client.submit_order(
            MarketOrderRequest(symbol="SYN01", notional=buying_power + 1e-6, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
        )
    assert refused.value.status_code == 403 and "insufficient buying power" in refused.value.message
    client.submit_order(MarketOrderRequest(symbol="SYN00", qty=held, side=OrderSide.SELL, time_in_force=TimeInForce.DAY))


def test_the_clock_closes_after_the_sessions_last_bar(trading):
    client, advance = trading
    state = advance(6)  # Monday's 20:30 bar: the session is over
    assert state == {
        "timestamp": "2021-03-01T21:30:00Z",
        "is_open": False,
        "next_open": "2021-03-02T14:30:00Z",
        "next_close": "2021-03-02T21:30:00Z",
    }
    assert client.get_clock().is_open is False
    client._api_key = client._secret_key = ""
    with pytest.raises(APIError) as refused:
        client.get_account()
    assert refused.value.status_code == 401


def test_the_command_serves_until_stopped_and_never_prints_keys(sample_home, store):
    command = [sys.executable, "-m", "engine", "sandbox", "--port", "0", "--symbols", "SYN00", "--from", "2021-03-01"]
    command += ["--speed", "36000"]  # ten hourly bars a second
    environment = {**os.environ, "ENGINE_HOME": str(sample_home), "PYTHONPATH": str(Path(__file__).parents[1])}
    server = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline() + server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", banner).group(0)
        assert f"{url.replace('http', 'ws')}/v2/iex" in banner
        client = TradingClient(KEY, SECRET, paper=True, url_override=url)
        assert client.get_clock().timestamp >= pd.Timestamp("2021-03-01 15:30", tz="UTC")
        client.submit_order(MarketOrderRequest(symbol="SYN00", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
        bars = stream_bars(url, ("SYN00",), lambda received: len(received) == 3)
        assert client.get_orders() == []  # filled on the next bar
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    timeline = store.read_table("SYN00", "1h").to_pandas()["timestamp"]
    first = int(timeline.searchsorted(pd.Timestamp(bars[0].timestamp)))
    assert [pd.Timestamp(bar.timestamp) for bar in bars] == list(timeline[first : first + 3])  # as the clock releases them
    assert server.returncode == 130 and "Traceback" not in err  # stopped as Ctrl-C stops a command
    assert KEY not in banner + out + err and SECRET not in banner + out + err


def test_the_clock_releases_bars_at_its_speed_skipping_the_gaps(store):
    bars = replayed_bars(store, ["SYN00"], "1h")
    seconds = [100.0]
    start = pd.Timestamp("2021-03-01 20:00", tz="UTC")
    clock = ReplayClock(bars, pd.Timedelta(hours=1), start, speed=3600, monotonic=lambda: seconds[0])
    assert clock.timeline[clock.released] == pd.Timestamp("2021-03-01 20:30", tz="UTC")  # the session's last bar
    seconds[0] += 2.5  # two more bars at one a second: overnight is skipped
    assert clock.timeline[clock.released] == pd.Timestamp("2021-03-02 15:30", tz="UTC")
    clock.advance(3)
    assert clock.state()["timestamp"] == pd.Timestamp("2021-03-02 19:30", tz="UTC")


def test_a_replay_serves_no_bar_before_it_has_closed(trading, store):
    client, advance = trading
    url = client._base_url
    bars = StockHistoricalDataClient(KEY, SECRET, url_override=url)
    request = StockBarsRequest(
        symbol_or_symbols="SYN00", timeframe=TimeFrame.Hour, start=_utc("2021-03-01"), end=_utc("2021-03-05")
    )
    assert [bar.timestamp.hour for bar in bars.get_stock_bars(request).data["SYN00"]] == [14]  # closed at 15:30, now
    advance(2)
    assert [bar.timestamp.hour for bar in bars.get_stock_bars(request).data["SYN00"]] == [14, 15, 16]


def test_bars_without_a_start_begin_with_the_current_new_york_day_as_at_alpaca(sample_home):
    with sandbox_server(sample_home, symbols=("SYN00",), start=pd.Timestamp("2021-03-02", tz="UTC")) as url:
        requests.post(f"{url}/admin/advance", json={"bars": 2}, headers=HEADERS, timeout=10).raise_for_status()
        client = StockHistoricalDataClient(KEY, SECRET, url_override=url)
        today = client.get_stock_bars(StockBarsRequest(symbol_or_symbols="SYN00", timeframe=TimeFrame.Hour)).data["SYN00"]
    # Tuesday's bars that have closed by the clock (17:30 UTC), not the store's history before them.
    assert [f"{bar.timestamp:%Y-%m-%d %H:%M}" for bar in today] == ["2021-03-02 14:30", "2021-03-02 15:30", "2021-03-02 16:30"]
