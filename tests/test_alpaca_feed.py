"""The Alpaca live feed against `engine sandbox` on loopback, through the real alpaca-py clients:
every bar once, in order, whatever the stream does; and a pipeline fed live with the sim broker
(a paper session's dry run) ends as the backtest of the same bars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from engine.alpaca.connection import AlpacaConnection
from engine.data.store import DataStore
from engine.execution.broker import SimBroker
from engine.execution.conventions import ExecutionRules
from engine.feeds.alpaca import AlpacaFeed, LiveSettings
from engine.kernel.pipeline import Pipeline, run_feed
from engine.sandbox.faults import Faults
from engine.strategies.files import load_strategy
from engine.usecases.backtest import prepare, simulate
from engine.workspace import Workspace
from tests.in_process import engine_here
from tests.sandbox import HISTORY_END, KEY, LIVE_FROM, SECRET, SMA_LIVE, SYMBOLS, sandbox_server


def feed_of(workspace: Workspace, **settings) -> AlpacaFeed:
    history = workspace.data.load(list(SYMBOLS), "1h")
    connection = AlpacaConnection.from_env()
    return AlpacaFeed(workspace.data, connection, SYMBOLS, "1h", history, LiveSettings(poll=0.5, **settings))


def stored_after(store: DataStore, count: int) -> list[tuple]:
    bars = store.load(list(SYMBOLS), "1h", LIVE_FROM)
    return [_rows(bars.slice(row, row + 1)) for row in range(count)]


def _rows(bars) -> tuple:
    return (str(bars.index()[0]), *(getattr(bars, field).tobytes() for field in ("open", "high", "low", "close", "volume")))


def test_each_bar_released_is_pushed_once_in_order(sample_home, store, consumer):
    workspace, fetch_history = consumer
    with sandbox_server(sample_home, symbols=SYMBOLS, start=LIVE_FROM - pd.Timedelta(hours=4)) as url:  # stepped
        fetch_history(url)
        feed, chunks = feed_of(workspace, max_bars=6), []
        runner = threading.Thread(target=feed.run, args=(chunks.append,))
        runner.start()
        for released in range(1, 7):
            requests.post(
                f"{url}/admin/advance", json={"bars": 1}, headers={"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
            )
            deadline = time.monotonic() + 10
            while feed.pushed_live < released and time.monotonic() < deadline:
                time.sleep(0.01)
        runner.join(10)
    assert not runner.is_alive() and len(chunks[0]) == len(workspace.data.load(list(SYMBOLS), "1h", None, HISTORY_END))
    assert [_rows(chunk) for chunk in chunks[1:]] == stored_after(store, 6)  # the sandbox's bars, exactly


def test_a_stream_that_drops_repeats_and_reorders_loses_and_repeats_no_bar(sample_home, store, consumer):
    workspace, fetch_history = consumer
    faults = Faults.parse("drop_every=8,duplicate=0.3,out_of_order=0.3,rate_limit=0.2,retry_after=0.01")
    with sandbox_server(sample_home, symbols=SYMBOLS, start=LIVE_FROM - pd.Timedelta(hours=4), speed=0.0, faults=faults) as url:
        fetch_history(url)
        feed, chunks = feed_of(workspace, max_bars=30), []
        feed.run(chunks.append)
    assert [_rows(chunk) for chunk in chunks[1:]] == stored_after(store, 30)


def test_a_live_dry_run_with_the_sim_broker_ends_as_the_backtest_of_the_same_bars(sample_home, consumer):
    workspace, fetch_history = consumer
    strategy = load_strategy("sma_cross").with_overrides(data={"symbols": list(SYMBOLS), "timeframe": "1h"})
    with sandbox_server(sample_home, symbols=SYMBOLS, start=LIVE_FROM - pd.Timedelta(hours=4), speed=0.0) as url:
        fetch_history(url)
        prepared = prepare(strategy, workspace)
        rules = ExecutionRules.from_strategy(strategy)
        pipeline = Pipeline(prepared.stages(), SimBroker(rules), prepared.bars.symbols, rules.initial_cash, None, strategy.name)
        live = run_feed(pipeline, AlpacaFeed(workspace.data, AlpacaConnection.from_env(), SYMBOLS, "1h", prepared.bars,
                                             LiveSettings(poll=0.5, max_bars=70)))  # fmt: skip
    backtest = simulate(prepare(strategy, workspace))  # over the bars the feed stored: history, live and later ones
    pushed = len(prepared.bars) + 70
    assert len(live.execution.equity) == pushed and len(backtest.execution.equity) >= pushed
    np.testing.assert_allclose(live.execution.equity, backtest.execution.equity[:pushed], rtol=1e-12)
    fills = live.execution.fills
    assert len(fills) > 0
    assert fills.equals(backtest.execution.fills.iloc[: len(fills)])


def test_engine_paper_dry_run_is_stored_as_a_paper_run_and_ends_as_the_backtest(sample_home, consumer, monkeypatch, capsys):
    workspace, fetch_history = consumer
    path = workspace.root / "strategies" / "sma_live.toml"
    path.parent.mkdir()
    path.write_text(SMA_LIVE)
    with sandbox_server(sample_home, symbols=SYMBOLS, start=LIVE_FROM - pd.Timedelta(hours=4), speed=0.0) as url:
        fetch_history(url)
        session = engine_here(
            monkeypatch,
            capsys,
            "paper",
            "--strategy",
            "sma_live",
            "--broker",
            "sim",
            "--max-bars",
            "35",
            "--poll",
            "0.5",
            "--json",
        )
    assert session.returncode == 0, session.stderr
    reply = json.loads(session.stdout.splitlines()[-1])
    listed = json.loads(engine_here(monkeypatch, capsys, "runs", "list", "--json").stdout)
    [run] = [run for run in listed if run["id"] == reply["run_id"]]
    assert (run["kind"], run["status"], run["sharpe"]) == ("paper", "finished", reply["metrics"]["sharpe"])
    assert reply["metrics"]["bars"] == 35
    equity = workspace.runs.load(reply["run_id"]).equity["equity"].to_numpy()
    # The backtest of the same strategy trading from the first live bar, over the bars the feed stored,
    # sized at the close as every paper mode sizes.
    from_live = load_strategy(str(path)).with_overrides(data={"start": str(LIVE_FROM.date())}, execution={"size_at": "close"})
    np.testing.assert_allclose(equity, simulate(prepare(from_live, workspace)).execution.equity[:35], rtol=1e-12)


def test_a_running_session_shows_its_state_and_stops_when_asked(sample_home, consumer, monkeypatch, capsys):
    workspace, fetch_history = consumer
    path = workspace.root / "strategies" / "sma_live.toml"
    path.parent.mkdir()
    path.write_text(SMA_LIVE)

    def engine(*args: str):
        return engine_here(monkeypatch, capsys, *args)

    with sandbox_server(sample_home, symbols=SYMBOLS, start=LIVE_FROM - pd.Timedelta(hours=4)) as url:  # stepped
        fetch_history(url)
        environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        command = [sys.executable, "-m", "engine", "paper", "--strategy", "sma_live", "--broker", "sim", "--poll", "0.2"]
        session = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for live_bars in (1, 2, 3):
                requests.post(
                    f"{url}/admin/advance", json={"bars": 1}, headers={"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
                )
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    reply = engine("paper", "status", "--json")  # an error until the session has started
                    state = json.loads(reply.stdout)["live"] if reply.returncode == 0 else None
                    if state is not None and state["live_bars"] == live_bars:
                        break
                    time.sleep(0.1)
                assert state["live_bars"] == live_bars and state["equity"] > 0
            shown = engine("paper", "status")
            assert "after 3 live bars, the last at 2022-12-01 16:30:00+00:00" in shown.stdout
            assert engine("paper", "stop", "latest").returncode == 0
            out, err = session.communicate(timeout=60)
        finally:
            session.kill()
    assert session.returncode == 0, err
    [listed] = json.loads(engine("paper", "list", "--json").stdout)
    assert (listed["kind"], listed["status"]) == ("paper", "finished")
    assert engine("paper", "stop", "latest").stderr.startswith(f"error: session {listed['id']} is finished, not running")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ((), "engine paper: give the strategy to trade, --strategy NAME or --release NAME@N (or a command: list, status, stop)"),
        (("--strategy", "sma_cross", "--broker", "ib"), "--broker ib: use alpaca or sim"),
        (("--strategy", "sma_cross", "--feed", "iex2"), "--feed iex2: use iex or sip"),
        (("status",), "no paper session in"),
        (("stop", "nope"), "no run 'nope'"),
    ],
)
def test_bad_paper_commands_are_one_line(consumer, monkeypatch, capsys, args, problem):
    result = engine_here(monkeypatch, capsys, "paper", *args)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and problem in errors[0], result.stderr
