"""A top-k strategy in a paper session against `engine sandbox` (the real alpaca-py clients, bar by
bar) orders, fills and marks as `engine backtest --size-at close` over the same bars."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from tests.in_process import engine_here
from tests.paper_session import stepped_session
from tests.sandbox import LIVE_FROM, sandbox_server
from tests.test_one_session import assert_same_orders_and_equity

SYMBOLS = ("SYN00", "SYN01", "SYN02", "SYN03")
LIVE_BARS = 14
TOPK_LIVE = f"""
name = "topk_live"
[data]
symbols = {json.dumps(list(SYMBOLS))}
timeframe = "1h"
[signal]
kind = "momentum"
window = 5
[[overlays]]
kind = "top_k"
k = 2
max_replacements = 1
min_hold_bars = 2
[execution]
size_at = "close"
"""


def test_a_top_k_session_against_the_sandbox_orders_as_its_backtest_sized_at_the_close(
    consumer, sample_home, monkeypatch, capsys
):
    workspace, fetch_history = consumer
    path = workspace.root / "strategies" / "topk_live.toml"
    path.parent.mkdir()
    path.write_text(TOPK_LIVE)
    with sandbox_server(sample_home, symbols=SYMBOLS, start=LIVE_FROM - pd.Timedelta(hours=4)) as url:
        fetch_history(url, SYMBOLS)
        session, _ = stepped_session(workspace, url, path, LIVE_BARS)
    paper = session.run.execution
    assert len(paper.equity) == LIVE_BARS
    books = list(session.run.stage_outputs.values())[-1][-LIVE_BARS:]
    assert ((books > 0).sum(axis=1) == 2).all()  # the two best-ranked, every live bar
    args = ["--strategy", "topk_live", "--size-at", "close", "--start", str(LIVE_FROM.date()), "--json"]
    reply = engine_here(monkeypatch, capsys, "backtest", *args)
    assert reply.returncode == 0, reply.stderr
    backtest = workspace.runs.load(json.loads(reply.stdout.splitlines()[-1])["run_id"])
    # The backtest's orders, as filled: when, decided when, which symbol, which side, how many, at what price.
    sized_at_close = SimpleNamespace(equity=backtest.equity["equity"].to_numpy(), fills=backtest.orders)
    assert_same_orders_and_equity(paper, sized_at_close, LIVE_BARS)
    assert len(paper.fills) >= 4 and paper.fills.timestamp.nunique() >= 2, paper.fills  # a rebalance after the first
