"""The dry run is the session: over the same bars, `engine paper --broker sim`, `engine paper --broker alpaca`
against `engine sandbox` and `engine backtest --size-at close` give the same orders, quantities and final
equity, for sma_cross and for gru93; and a kill switch trips on the same bar in all three."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.day_stamps import store_stamps
from engine.strategies.files import find_strategy
from engine.usecases.backtest import run_backtest
from engine.workspace import Workspace
from tests.in_process import engine_here
from tests.paper_session import stepped_session
from tests.sandbox import LIVE_FROM, SMA_LIVE, sandbox_server

LIVE_BARS = 21


@contextmanager
def bars_as_they_were(workspace: Workspace):
    """The bar store put back as it is now afterwards: a session stores the live bars it receives, and
    the next session must find only the history before them."""
    kept = workspace.root.parent / f"{workspace.root.name}-data"
    shutil.copytree(workspace.root / "data", kept)
    try:
        yield
    finally:
        shutil.rmtree(workspace.root / "data")
        kept.rename(workspace.root / "data")


def both_sessions(workspace: Workspace, sandbox: Callable, path: Path, bars: int, kill_switch: str = ""):
    """The dry run and the Alpaca session of the strategy at `path`, each on a fresh sandbox from the
    same clock: their results and the Alpaca session's run id."""
    with sandbox() as url, bars_as_they_were(workspace):
        dry, _ = stepped_session(workspace, url, path, bars, kill_switch, broker="sim")
    with sandbox() as url:
        alpaca, run_id = stepped_session(workspace, url, path, bars, kill_switch)
    return dry, alpaca, run_id


def assert_same_orders_and_equity(session, other, bars: int) -> None:
    """`other` (a session or a backtest from the first live bar) ordered, filled and marked as `session`
    over its `bars` bars. Fills at one open come in no particular order."""
    np.testing.assert_allclose(other.equity[:bars], session.equity, rtol=1e-8)
    fills = [frame[frame.timestamp <= session.bars.index()[-1]] for frame in (session.fills, other.fills)]
    keys = ["timestamp", "decided_at", "symbol", "side"]
    ordered = [frame.sort_values(keys).reset_index(drop=True) for frame in fills]
    assert len(ordered[0]) >= 2 and ordered[0][keys].equals(ordered[1][keys])
    np.testing.assert_allclose(ordered[0]["size"], ordered[1]["size"], rtol=1e-8)
    np.testing.assert_allclose(ordered[0]["price"], ordered[1]["price"], rtol=1e-12)


@pytest.mark.parametrize("kill_switch", ["", "daily_loss=0.0005"])
def test_sma_cross_dry_run_alpaca_session_and_backtest_at_the_close_agree(trader, monkeypatch, capsys, kill_switch):
    workspace, path, sandbox = trader
    path.write_text(SMA_LIVE)  # sized at the open for a backtest: every paper mode sizes at the close
    dry, alpaca, run_id = both_sessions(workspace, sandbox, path, LIVE_BARS, kill_switch)
    dry, alpaca = dry.run.execution, alpaca.run.execution
    args = ["--strategy", "sma_live", "--size-at", "close", "--start", str(LIVE_FROM.date()), "--json"]
    reply = engine_here(monkeypatch, capsys, "backtest", *args, *(["--kill-switch", kill_switch] if kill_switch else []))
    assert reply.returncode == 0, reply.stderr
    backtest = json.loads(reply.stdout.splitlines()[-1])
    stored = workspace.runs.load(backtest["run_id"])
    for session in (dry, alpaca):
        assert len(session.equity) == LIVE_BARS
        np.testing.assert_allclose(stored.equity["equity"].to_numpy()[:LIVE_BARS], session.equity, rtol=1e-8)
    assert_same_orders_and_equity(alpaca, dry, LIVE_BARS)
    orders = stored.orders
    orders = orders[orders.timestamp <= alpaca.bars.index()[-1]]
    assert orders["symbol"].tolist() == alpaca.fills["symbol"].tolist()
    np.testing.assert_allclose(orders["size"], alpaca.fills["size"], rtol=1e-8)
    if kill_switch:  # the same limit, the same bar, the same words, in all three
        halted = backtest["risk"]["halted"]
        assert halted["limit"] == "daily_loss" and pd.Timestamp(halted["timestamp"]) <= alpaca.bars.index()[-1]
        paper = json.loads((workspace.runs.path(run_id) / "risk.json").read_text())["halted"]
        assert paper == halted


def test_gru93_dry_run_alpaca_session_and_backtest_at_the_close_agree(sample_home, consumer, monkeypatch, capsys):
    workspace, _ = consumer
    path = workspace.root / "strategies" / "gru93_live.toml"
    path.parent.mkdir()
    path.write_text(find_strategy("gru93").read_text().replace('name = "gru93"', 'name = "gru93_live"'))
    days, live_from = 24, pd.Timestamp("2007-10-16", tz="UTC")  # gru93 trades eight times in these days
    history_end = str((live_from - pd.Timedelta(days=1)).date())

    @contextmanager
    def sandbox():
        with sandbox_server(
            sample_home, symbols=("SP500", "NASDAQ"), timeframe="1d", start=live_from - pd.Timedelta(days=1)
        ) as url:
            monkeypatch.setenv("ENGINE_ALPACA_URL", url)
            args = ["SP500", "NASDAQ", "--source", "alpaca", "--timeframe", "1d", "--start", "1999-01-01", "--end", history_end]
            fetched = engine_here(monkeypatch, capsys, "data", "fetch", *args)
            assert fetched.returncode == 0, fetched.stderr
            yield url

    dry, alpaca, _ = both_sessions(workspace, sandbox, path, days)
    assert str(alpaca.run.execution.bars.index()[0].date()) == str(live_from.date())
    # `engine backtest --size-at close` from the first live day, with the thresholds the session calibrated
    # on its history (calibrating again from that day would want 500 days after it).
    assert alpaca.strategy.execution.size_at == "close"
    backtest = run_backtest(alpaca.strategy.with_overrides(data={"start": str(live_from.date())}), workspace)
    # Alpaca fills a day's order at the time it stamps the day's bar, midnight in New York: the bar's date.
    fills = alpaca.run.execution.executed
    restamped = store_stamps(pd.DatetimeIndex(fills.timestamp).tz_localize("UTC"), "1d").tz_localize(None).to_numpy()
    for session in (dry.run.execution, replace(alpaca.run.execution, executed=replace(fills, timestamp=restamped))):
        assert_same_orders_and_equity(session, backtest.execution, days)
