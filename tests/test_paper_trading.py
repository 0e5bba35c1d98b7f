"""`engine paper` with the Alpaca broker against `engine sandbox` on loopback, through the real alpaca-py
clients: the session trades as its backtest does, and survives faults and SIGKILLs with no order sent
twice and none lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import requests

from engine.execution.alpaca import order_quantity
from engine.stores.order_journal import OrderJournal
from engine.strategies.files import load_strategy
from engine.usecases.backtest import prepare, simulate
from engine.usecases.paper_control import HALT, JOURNAL, LIVE, MANUAL_HALT, request_halt, request_stop
from engine.workspace import Workspace
from tests.helpers import wait_for
from tests.in_process import engine_here
from tests.paper_session import stepped_session
from tests.sandbox import KEY, LIVE_FROM, SECRET, SIZED_AT_CLOSE, advance

LIVE_BARS = 21  # three trading days of hours: several crossings of the 5- and 20-hour averages
HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}


def sandbox_get(url: str, path: str, **params) -> list[dict]:
    """A read of the sandbox's account, past the faults it injects."""
    for _ in range(100):
        reply = requests.get(f"{url}{path}", params=params, headers=HEADERS)
        if reply.ok:
            return reply.json()
    raise AssertionError(f"GET {path} kept failing: {reply.status_code}")


def sandbox_orders(url: str) -> list[dict]:
    return sandbox_get(url, "/v2/orders", status="all", limit=500, direction="asc")


def sandbox_positions(url: str) -> dict[str, float]:
    return {position["symbol"]: float(position["qty"]) for position in sandbox_get(url, "/v2/positions")}


def backtest_from_live(workspace: Workspace, path: Path):
    strategy = load_strategy(str(path)).with_overrides(data={"start": str(LIVE_FROM.date())})
    return simulate(prepare(strategy, workspace)).execution


def test_a_session_orders_on_the_bars_its_backtest_does_and_ends_with_its_equity(trader):
    workspace, path, sandbox = trader
    with sandbox() as url:
        result, run_id = stepped_session(workspace, url, path, LIVE_BARS)
        orders = sandbox_orders(url)
    backtest = backtest_from_live(workspace, path)
    session = result.run.execution
    np.testing.assert_allclose(session.equity, backtest.equity[:LIVE_BARS], rtol=1e-8)
    expected = backtest.fills[backtest.fills.timestamp <= session.fills.timestamp.max()]
    assert len(session.fills) >= 3 and len(session.fills) == len(expected)
    for column in ("timestamp", "decided_at", "symbol", "side"):
        assert session.fills[column].tolist() == expected[column].tolist()
    np.testing.assert_allclose(session.fills["size"], expected["size"], rtol=1e-8)
    np.testing.assert_allclose(session.fills.price, expected.price, rtol=1e-12)
    # Every order the session sent reached the sandbox once, under its own client order id.
    assert max(Counter(order["client_order_id"] for order in orders).values()) == 1
    journal = OrderJournal(workspace.runs.path(run_id) / JOURNAL)
    assert {order["client_order_id"] for order in orders} == {order.client_order_id for order in journal.orders()}
    assert journal.differences() == []
    decisions = journal.decisions()  # every live bar, with its prices and each stage's weights
    assert len(decisions) == LIVE_BARS
    bar, inputs, outputs = decisions[-1]
    assert inputs["close"] == dict(zip(("SYN00", "SYN01"), backtest.bars.close[LIVE_BARS - 1].tolist(), strict=True))
    assert list(outputs) == ["targets/0:sma_cross(5,20)"] and set(outputs["targets/0:sma_cross(5,20)"]) == {"SYN00", "SYN01"}


def test_order_faults_place_every_order_once(trader):
    """429 storms and 5xx bursts on every call and a 504 after the order was accepted: each order is
    placed once and the session ends as the uninterrupted one."""
    workspace, path, sandbox = trader
    faults = "rate_limit=0.2,retry_after=0.01,server_error=0.15,lost_reply=0.5"
    with sandbox(faults, seed=2) as url:
        result, run_id = stepped_session(workspace, url, path, LIVE_BARS)
        orders, positions = sandbox_orders(url), sandbox_positions(url)
        injected = requests.get(f"{url}/admin/faults", headers=HEADERS).json()["injected"]
    assert injected["lost_reply"] >= 1, injected
    assert injected["rate_limit"] >= 5 and injected["server_error"] >= 5, injected
    assert max(Counter(order["client_order_id"] for order in orders).values()) == 1
    backtest = backtest_from_live(workspace, path)
    np.testing.assert_allclose(result.run.execution.equity, backtest.equity[:LIVE_BARS], rtol=1e-8)
    held = dict(zip(backtest.bars.symbols, backtest.positions[LIVE_BARS - 1], strict=True))
    assert positions == pytest.approx({symbol: shares for symbol, shares in held.items() if shares}, rel=1e-8)


def session_process(workspace: Workspace, *args: str, crash_at: str | None = None) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    environment.pop("ENGINE_PAPER_CRASH_AT", None)
    if crash_at is not None:
        environment["ENGINE_PAPER_CRASH_AT"] = crash_at
    command = [sys.executable, "-m", "engine", "paper", "--strategy", "sma_live", "--poll", "0.2", *args]
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def live_bars(workspace: Workspace) -> int:
    runs = [path for path in workspace.runs.root.iterdir() if (path / LIVE).exists()] if workspace.runs.root.exists() else []
    return max((json.loads((path / LIVE).read_text())["live_bars"] for path in runs), default=0)


def crash_and_resume(workspace: Workspace, url: str, crash_at: str, last_bar: str, bars: int, monkeypatch, capsys) -> str:
    """`engine paper` SIGKILLed at `crash_at`, then resumed with `--session` until the sandbox has
    released `bars` live bars: the session's id."""
    first = session_process(workspace, "--until", last_bar, crash_at=crash_at)
    released = 0
    while first.poll() is None:
        advance(url)
        released += 1
        wait_for(lambda released=released: live_bars(workspace) == released or first.poll() is not None)
    assert first.returncode == -9, first.stderr.read()  # SIGKILLed at the crash point
    [session] = json.loads(engine_here(monkeypatch, capsys, "paper", "list", "--json").stdout)
    assert session["status"] == "failed"
    second = session_process(workspace, "--until", last_bar, "--session", session["id"])
    wait_for(lambda: live_bars(workspace) == released)  # the bar it died on, done again
    while released < bars:
        advance(url)
        released += 1
        wait_for(lambda released=released: live_bars(workspace) == released or second.poll() is not None)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    return session["id"]


@pytest.mark.parametrize("crash_at", ["intent:3", "sent:3", "fill:3"])
def test_a_session_killed_mid_order_resumes_with_no_order_sent_twice_or_lost(trader, monkeypatch, capsys, crash_at):
    workspace, path, sandbox = trader
    with sandbox() as url:
        session = crash_and_resume(workspace, url, crash_at, "2022-12-05T20:30", LIVE_BARS, monkeypatch, capsys)
        orders, positions = sandbox_orders(url), sandbox_positions(url)
    assert max(Counter(order["client_order_id"] for order in orders).values()) == 1
    backtest = backtest_from_live(workspace, path)
    held = dict(zip(backtest.bars.symbols, backtest.positions[LIVE_BARS - 1], strict=True))
    assert positions == pytest.approx({symbol: shares for symbol, shares in held.items() if shares}, rel=1e-8)
    decided = backtest.fills[backtest.fills.decided_at < backtest.bars.index()[LIVE_BARS - 1]]
    assert len([order for order in orders if order["status"] == "filled"]) == len(decided)
    stored = workspace.runs.load(session).equity["equity"].to_numpy()
    np.testing.assert_allclose(stored, backtest.equity[:LIVE_BARS], rtol=1e-8)


def test_a_limit_hit_halts_trading_and_says_why(trader):
    workspace, path, sandbox = trader
    with sandbox() as url:
        _, run_id = stepped_session(workspace, url, path, 8, "order_notional=1000")
        orders = sandbox_orders(url)
    assert orders == []  # the first order, worth $50,000, was never sent
    state = json.loads((workspace.runs.path(run_id) / LIVE).read_text())
    assert state["halted"].startswith("an order of $") and "above the order_notional limit of $1,000.00" in state["halted"]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [("daily_loss=2%", "daily_loss needs a positive number, not '2%'"), ("max_loss=1", "unknown limit 'max_loss'")],
)
def test_a_bad_kill_switch_is_one_line(consumer, monkeypatch, capsys, spec, problem):
    result = engine_here(monkeypatch, capsys, "paper", "--strategy", "sma_cross", "--kill-switch", spec)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and problem in errors[0], result.stderr


def test_orders_go_only_to_alpacas_paper_api_or_this_machine(consumer, monkeypatch, capsys):
    monkeypatch.setenv("ENGINE_ALPACA_URL", "https://api.alpaca.markets")
    monkeypatch.setenv("APCA_API_KEY_ID", "a-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "a-secret")
    result = engine_here(monkeypatch, capsys, "paper", "--strategy", "sma_cross")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert "orders go only to Alpaca's paper API (paper-api.alpaca.markets)" in errors[0]
    assert "a-key" not in result.stderr and "a-secret" not in result.stderr


def test_a_position_opened_outside_the_session_is_recorded_and_halts_trading(trader):
    workspace, path, sandbox = trader

    def buy_behind_its_back(bar: int) -> None:
        if bar == 2:
            order = {"symbol": "SYN01", "qty": "40", "side": "buy", "type": "market", "time_in_force": "day"}
            requests.post(f"{url}/v2/orders", json=order, headers=HEADERS).raise_for_status()

    with sandbox() as url:
        _, run_id = stepped_session(workspace, url, path, LIVE_BARS, before_bar=buy_behind_its_back)
        orders = sandbox_orders(url)
    journal = OrderJournal(workspace.runs.path(run_id) / JOURNAL)
    found = {field: (ledger, broker) for _, field, ledger, broker in journal.differences()}
    assert found["SYN01"] == (0.0, 40.0) and found["cash"][0] == 100_000.0 > found["cash"][1]
    assert journal.fact("halted").startswith("the broker's cash (")
    assert len(orders) == 1  # the outside order: the session sent none after it


def test_a_paper_account_reset_halts_trading(trader):
    workspace, path, sandbox = trader

    def reset_after_the_first_buys(bar: int) -> None:
        if bar == 8:  # the session holds both symbols by now
            requests.post(f"{url}/admin/reset", headers=HEADERS).raise_for_status()

    with sandbox() as url:
        _, run_id = stepped_session(workspace, url, path, LIVE_BARS, before_bar=reset_after_the_first_buys)
        orders = sandbox_orders(url)
    journal = OrderJournal(workspace.runs.path(run_id) / JOURNAL)
    found = {field for _, field, _, _ in journal.differences()}
    assert {"cash", "SYN00", "SYN01"} <= found
    assert journal.fact("halted").startswith("the broker's cash (100000)")
    assert orders == []  # the reset took the session's orders; it sent none after it


def test_trade_updates_dropped_repeated_and_reordered_leave_the_books_exact(trader):
    """The trade-update stream drops every third message, repeats and reorders others, and the bar
    stream with it: fills the stream lost are found by looking the orders up, none is booked twice."""
    workspace, path, sandbox = trader
    with sandbox("drop_every=3,duplicate=0.3,out_of_order=0.3") as url:
        result, _ = stepped_session(workspace, url, path, LIVE_BARS)
    backtest = backtest_from_live(workspace, path)
    np.testing.assert_allclose(result.run.execution.equity, backtest.equity[:LIVE_BARS], rtol=1e-8)
    assert len(result.run.execution.fills) == len(
        backtest.fills[backtest.fills.timestamp <= result.run.execution.bars.index()[-1]]
    )


def test_a_buy_refused_for_buying_power_is_resized_and_sent_again_under_its_own_id(trader):
    workspace, path, sandbox = trader

    def hold_back_the_cash(bar: int) -> None:
        if bar == 5:  # an open limit buy far below the market holds back $47,000
            order = {
                "symbol": "SYN01",
                "qty": "47000",
                "side": "buy",
                "type": "limit",
                "limit_price": "1",
                "time_in_force": "gtc",
            }
            requests.post(f"{url}/v2/orders", json=order, headers=HEADERS).raise_for_status()

    with sandbox() as url:
        _, run_id = stepped_session(workspace, url, path, 8, before_bar=hold_back_the_cash)
        placed = {order["client_order_id"]: order for order in sandbox_orders(url)}
    journal = OrderJournal(workspace.runs.path(run_id) / JOURNAL)
    refused = [order for order in journal.orders() if order.status == "rejected"]
    assert len(refused) == 1 and "insufficient buying power" in refused[0].reason
    resized = journal.order(refused[0].client_order_id + "-resized")
    assert resized.status == "filled" and 0 < resized.qty < refused[0].qty
    assert placed[resized.client_order_id]["status"] == "filled" and refused[0].client_order_id not in placed


@pytest.mark.parametrize(("limit", "sent"), [(2, 2), (1, 0)])
def test_orders_per_minute_halts_a_burst(trader, limit, sent):
    """Buy-and-hold orders both symbols at the first live bar: two orders in the same minute of the bars'
    clock (each capped at 40% of equity: all in, the sandbox would refuse the second for buying power)."""
    workspace, path, sandbox = trader
    path.write_text(SIZED_AT_CLOSE.replace('kind = "sma_cross"\nfast = 5\nslow = 20', 'kind = "buy_and_hold"'))
    with sandbox() as url:
        _, run_id = stepped_session(workspace, url, path, 3, f"orders_per_minute={limit},position_cap=0.4")
        orders = sandbox_orders(url)
    assert len(orders) == sent
    halted = OrderJournal(workspace.runs.path(run_id) / JOURNAL).fact("halted")
    assert halted == (None if sent else "more than 1 orders in a minute (orders_per_minute)")


def test_stop_with_flatten_sells_what_the_session_holds(trader):
    workspace, path, sandbox = trader

    def stop_after_bar_ten(bar: int) -> None:
        if bar == 11:  # the session, waiting for bar 11, holds SYN00 and SYN01 (bought at bars 5 and 6)
            request_stop(workspace.runs, "latest", flatten=True)
            wait_for(lambda: len(_flattening(sandbox_orders(url))) == 2)  # it ends, sending its sells; bar 11's open fills them

    with sandbox() as url:
        stepped_session(workspace, url, path, 12, before_bar=stop_after_bar_ten)
        orders, after = sandbox_orders(url), sandbox_positions(url)
    bought = {(order["symbol"], float(order["filled_qty"])) for order in orders if order["side"] == "buy"}
    sold = {(order["symbol"], float(order["filled_qty"])) for order in _flattening(orders)}
    assert {symbol for symbol, _ in bought} == {"SYN00", "SYN01"} and sold == bought
    assert after == {}


def _flattening(orders: list[dict]) -> list[dict]:
    return [order for order in orders if "-flatten-" in order["client_order_id"]]


def test_a_daily_loss_beyond_the_limit_halts_trading(trader):
    workspace, path, sandbox = trader
    with sandbox() as url:
        _, run_id = stepped_session(workspace, url, path, LIVE_BARS, "daily_loss=0.0005")
    halted = OrderJournal(workspace.runs.path(run_id) / JOURNAL).fact("halted")
    assert halted.startswith("equity fell ") and halted.endswith("today, beyond the daily_loss limit of 0.05%")


@pytest.mark.parametrize("broker", ["alpaca", "sim"])
def test_a_halt_by_hand_stops_the_orders_but_not_the_session(trader, broker):
    workspace, path, sandbox = trader

    def halt_after_the_first_buy(bar: int) -> None:
        if bar == 6:  # SYN00 is bought; SYN01's buy is decided at bar 5's close and still open
            asked = workspace.runs.path(request_halt(workspace.runs, "latest")) / HALT
            wait_for(lambda: not asked.exists())  # taken once the gate has tripped

    with sandbox() as url:
        result, run_id = stepped_session(workspace, url, path, LIVE_BARS, before_bar=halt_after_the_first_buy, broker=broker)
        orders = sandbox_orders(url)
    assert json.loads((workspace.runs.path(run_id) / LIVE).read_text())["halted"] == MANUAL_HALT
    assert result.run.execution.fills.symbol.tolist() == ["SYN00"]  # nothing filled after the halt
    if broker == "alpaca":
        assert OrderJournal(workspace.runs.path(run_id) / JOURNAL).fact("halted") == MANUAL_HALT
        assert [order["status"] for order in orders] == ["filled", "canceled"]  # nothing sent after the halt
    assert len(result.run.execution.equity) == LIVE_BARS  # the session went on to its last bar


@pytest.mark.parametrize("broker", ["alpaca", "sim"])
def test_a_session_whose_server_does_not_answer_is_one_line_and_leaves_no_run(trader, monkeypatch, capsys, broker):
    workspace, path, sandbox = trader
    with sandbox():
        pass  # the history is fetched; then the server goes away
    result = engine_here(monkeypatch, capsys, "paper", "--strategy", "sma_live", "--broker", broker, "--max-bars", "1")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and "GET /v2/clock" in errors[0], result.stderr
    assert not workspace.runs.root.exists() or workspace.runs.list() == []


@pytest.mark.parametrize(
    ("shares", "named"),
    [(-45.67088600475456, -45.670886004), (12.0000000009, 12.0), (0.29, 0.29), (45.670886004, 45.670886004), (-1e-10, 0.0)],
)
def test_an_order_names_its_shares_to_nine_decimals_toward_zero(shares, named):
    """A sale never asks for more than is held: rounding up left a resumed session's held shares plus its
    open sale negative (issue 25's resume that failed every time)."""
    quantity = order_quantity(shares)
    assert type(quantity) is float and quantity == named and abs(quantity) <= abs(shares) + 1e-12  # a float: it goes out as text
