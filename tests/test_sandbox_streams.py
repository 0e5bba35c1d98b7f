"""The sandbox's websocket streams and faults, through the real alpaca-py clients on loopback."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from engine.sandbox.faults import Faults, FaultSpecError
from tests.helpers import wait_for
from tests.sandbox import KEY, SECRET, sandbox_server, stream_bars, stream_url, trade_updates

HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
SYMBOLS = ("SYN00", "SYN01")
FROM = pd.Timestamp("2022-12-20", tz="UTC")  # the sample's last 8 sessions: 56 hourly bars a symbol after the first


def _received(bars: list) -> list[tuple]:
    return [(bar.symbol, pd.Timestamp(bar.timestamp), bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in bars]


def _stored(store, symbols=SYMBOLS) -> list[tuple]:
    """The stored bars after the first one released, in the order the stream sends them: by time, then symbol."""
    frames = []
    for symbol in symbols:
        frame = store.read_table(symbol, "1h").to_pandas()
        frames.append(frame[frame["timestamp"] > FROM + pd.Timedelta("15h")].assign(symbol=symbol))
    rows = pd.concat(frames).sort_values(["timestamp", "symbol"], kind="stable")
    fields = ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
    return [tuple(row) for row in rows[fields].itertuples(index=False)]


def _everything(expected: int):
    return lambda received: len(received) >= expected


def test_the_bar_stream_releases_every_bar_as_fast_as_the_consumer_takes_it(sample_home, store):
    expected = _stored(store)
    with sandbox_server(sample_home, symbols=SYMBOLS, start=FROM, speed=0.0) as url:
        bars = stream_bars(url, SYMBOLS, _everything(len(expected)))
        clock = requests.get(f"{url}/v2/clock", headers=HEADERS, timeout=10).json()
    assert _received(bars) == expected  # msgpack times, every bar of both symbols, in order
    assert clock["timestamp"] == "2022-12-30T21:30:00Z" and clock["is_open"] is False  # the replay ran to its end


@pytest.mark.parametrize(
    ("spec", "drops"),
    [("drop_every=9", 12), ("drop_at=2022-12-28T15:00Z", 1)],  # 9 messages end in the 5th bar pair of a connection
)
def test_a_dropped_stream_reconnects_with_no_bar_lost_or_duplicated(sample_home, store, caplog, spec, drops):
    expected = _stored(store)
    with sandbox_server(sample_home, symbols=SYMBOLS, start=FROM, speed=0.0, faults=Faults.parse(spec)) as url:
        bars = stream_bars(url, SYMBOLS, _everything(len(expected)))
    assert _received(bars) == expected
    reconnects = [record for record in caplog.records if "restarting connection: received 1011" in record.getMessage()]
    assert len(reconnects) == drops


def test_duplicated_and_reordered_messages_are_sent_as_the_seed_draws_them(sample_home, store):
    expected = _stored(store)
    faults = Faults.parse("duplicate=0.1,out_of_order=0.1")

    def session(seed: int) -> list[tuple]:
        with sandbox_server(sample_home, symbols=SYMBOLS, start=FROM, speed=0.0, faults=faults, seed=seed) as url:
            return _received(stream_bars(url, SYMBOLS, lambda received: expected[-1] in _received(received[-3:])))

    first, again, other = session(7), session(7), session(8)
    assert first == again != other
    assert set(first) == set(expected)
    assert len(first) > len(expected)  # duplicates
    assert any(later[1] < earlier[1] for earlier, later in zip(first, first[1:], strict=False))  # out of order


@pytest.fixture
def trading(sample_home):
    """A sandbox stepped by hand from 2022-12-20, a TradingClient on it, and `advance(N)`."""
    with sandbox_server(sample_home, symbols=SYMBOLS, start=FROM) as url:

        def advance(bars: int) -> None:
            requests.post(f"{url}/admin/advance", json={"bars": bars}, headers=HEADERS, timeout=10).raise_for_status()

        def set_faults(spec: str) -> requests.Response:
            return requests.put(f"{url}/admin/faults", json={"faults": spec}, headers=HEADERS, timeout=10)

        yield url, TradingClient(KEY, SECRET, paper=True, url_override=url), advance, set_faults


def _buy(client: TradingClient, qty: float, client_order_id: str):
    return client.submit_order(
        MarketOrderRequest(symbol="SYN00", qty=qty, side="buy", time_in_force="day", client_order_id=client_order_id)
    )


def test_trade_updates_follow_each_order_through_its_states(trading):
    url, client, advance, set_faults = trading
    with trade_updates(url) as stream:
        assert set_faults("partial=1").json()["faults"] == "partial=1.0"
        whole = _buy(client, 10, "in-two-parts")
        advance(2)
        set_faults("reject=1")
        _buy(client, 1, "refused")
        set_faults("")
        canceled = _buy(client, 1, "canceled")
        client.cancel_order_by_id(canceled.id)
        wait_for(lambda: len(stream.updates) == 6)
    events = [(update.event, update.order.client_order_id, update.qty, update.position_qty) for update in stream.updates]
    assert events == [
        ("new", "in-two-parts", None, None),
        ("partial_fill", "in-two-parts", 5.0, 5.0),
        ("fill", "in-two-parts", 5.0, 10.0),
        ("rejected", "refused", None, None),
        ("new", "canceled", None, None),
        ("canceled", "canceled", None, None),
    ]
    fills = stream.updates[1:3]
    order = client.get_order_by_id(whole.id)
    assert order.filled_qty == "10.0" and order.status == "filled"
    assert float(order.filled_avg_price) == pytest.approx((fills[0].price + fills[1].price) / 2, rel=1e-12)
    assert len({update.execution_id for update in fills}) == 2


def test_a_lost_reply_leaves_one_order_that_a_lookup_by_client_order_id_finds(trading):
    url, client, advance, set_faults = trading
    set_faults("lost_reply=1")
    client._retry_wait = 0  # the SDK re-POSTs after a 504 by itself, 3 times: each resend is refused, its reply lost
    with pytest.raises(APIError) as raised:
        _buy(client, 3, "sent-once")
    assert raised.value.status_code == 504
    set_faults("")
    orders = requests.get(f"{url}/v2/orders", params={"status": "all"}, headers=HEADERS, timeout=10).json()
    assert [order["client_order_id"] for order in orders] == ["sent-once"]
    assert client.get_order_by_client_id("sent-once").qty == "3.0"


def test_a_slow_reply_times_out_after_the_order_was_placed(trading):
    url, client, advance, set_faults = trading
    set_faults("slow=1,delay=0.5")
    order = {"symbol": "SYN00", "qty": "2", "side": "buy", "type": "market", "time_in_force": "day", "client_order_id": "late"}
    with pytest.raises(requests.Timeout):
        requests.post(f"{url}/v2/orders", json=order, headers=HEADERS, timeout=0.2)
    set_faults("")
    placed = wait_for(
        lambda: [order for order in client.get_orders(GetOrdersRequest(status="all")) if order.client_order_id == "late"]
    )
    assert [order.status for order in placed] == ["new"]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("rate_limit=2", "rate_limit=2: give a fraction from 0 to 1"),
        ("drop_every=0", "drop_every=0: give a whole number of messages, at least 1"),
        ("drop_at=soon", "drop_at=soon: give a time, like 2021-03-02T15:30Z"),
        ("lag=1", "'lag=1': a fault is name=value, the names drop_every, drop_at, rate_limit,"),
        ("rate_limit=0.1,rate_limit=0.2", "'rate_limit=0.2': rate_limit is given twice"),
    ],
)
def test_a_bad_fault_spec_names_the_part_that_is_wrong(trading, cli, spec, problem):
    with pytest.raises(FaultSpecError, match=problem.replace("(", r"\(")):
        Faults.parse(spec)
    url, client, advance, set_faults = trading
    refused = set_faults(spec)
    assert refused.status_code == 422 and refused.json()["message"].startswith(f"faults: {problem}")
    result = cli("sandbox", "--faults", spec)
    assert result.returncode == 2 and result.stderr.startswith(f"error: --faults: {problem}")


def test_the_streams_require_a_key_pair(sandbox_url):
    bars_url, updates_url = stream_url(sandbox_url, "/v2/sip"), stream_url(sandbox_url, "/stream")
    with connect(bars_url) as bars:  # no msgpack asked for: JSON frames
        assert json.loads(bars.recv(5)) == [{"T": "success", "msg": "connected"}]
        bars.send("garbage")
        assert json.loads(bars.recv(5)) == [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        bars.send(json.dumps({"action": "subscribe", "bars": ["SYN00"]}))  # before authenticating
        assert json.loads(bars.recv(5)) == [{"T": "error", "code": 401, "msg": "not authenticated"}]
        bars.send(json.dumps({"action": "auth", "key": "", "secret": ""}))
        assert json.loads(bars.recv(5)) == [{"T": "error", "code": 402, "msg": "auth failed"}]
        with pytest.raises(ConnectionClosed):
            bars.recv(5)
    with connect(updates_url) as updates:
        updates.send(json.dumps({"action": "authenticate", "data": {"key_id": KEY, "secret_key": ""}}))
        assert json.loads(updates.recv(5))["data"]["status"] == "unauthorized"
        with pytest.raises(ConnectionClosed):
            updates.recv(5)
