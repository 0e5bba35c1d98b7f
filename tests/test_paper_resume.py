"""A session killed between the sends of one bar's orders, resumed: the orders it had not sent yet are
sized as they were first (the shares already ordered are not counted as held while the cash they will
spend still counts as free), so it ends at its backtest's equity with no order refused."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from engine.sandbox.faults import Faults
from tests.sandbox import LIVE_FROM, sandbox_server
from tests.test_paper_trading import backtest_from_live, crash_and_resume, sandbox_orders, sandbox_positions

SYMBOLS = tuple(f"SYN0{index}" for index in range(6))
LIVE_BARS = 14  # two trading days of hours
WHOLE_SHARES_WITH_COSTS = f"""
name = "sma_live"
[data]
symbols = {list(SYMBOLS)}
timeframe = "1h"
[signal]
kind = "sma_cross"
fast = 2
slow = 6
[costs]
commission_bps = 10.0
slippage_bps = 5.0
[execution]
fractional_shares = false
size_at = "close"
"""


@pytest.mark.parametrize(
    ("crash_at", "faults"),
    [
        ("sent:4", ""),  # the fourth order acknowledged, before the journal has it
        ("post:5", "slow=1,delay=0.05"),  # the fifth about to go, while the fourth and sixth are in flight (replies late)
    ],
)
def test_a_crash_between_the_sends_of_a_bar_resumes_at_the_backtests_equity(
    consumer, sample_home, monkeypatch, capsys, crash_at, faults
):
    workspace, fetch_history = consumer
    path = workspace.root / "strategies" / "sma_live.toml"
    path.parent.mkdir()
    path.write_text(WHOLE_SHARES_WITH_COSTS)
    start = LIVE_FROM - pd.Timedelta(hours=4)
    with sandbox_server(sample_home, symbols=SYMBOLS, start=start, faults=Faults.parse(faults), seed=9) as url:
        fetch_history(url, SYMBOLS)
        session = crash_and_resume(workspace, url, crash_at, "2022-12-02T20:30", LIVE_BARS, monkeypatch, capsys)
        orders, positions = sandbox_orders(url), sandbox_positions(url)
    assert max(Counter(order["client_order_id"] for order in orders).values()) == 1
    backtest = backtest_from_live(workspace, path)
    decided = backtest.fills[backtest.fills.decided_at < backtest.bars.index()[LIVE_BARS - 1]]
    assert Counter(order["status"] for order in orders)["filled"] == len(decided)  # none refused, none cut short
    assert {order["status"] for order in orders} <= {"filled", "new"}  # the last bar's orders wait for the next open
    held = dict(zip(backtest.bars.symbols, backtest.positions[LIVE_BARS - 1], strict=True))
    assert positions == {symbol: shares for symbol, shares in held.items() if shares}
    stored = workspace.runs.load(session).equity["equity"].to_numpy()
    np.testing.assert_allclose(stored, backtest.equity[:LIVE_BARS], rtol=1e-6)
    fourth = backtest.fills.decided_at.iloc[3]  # killed at the fourth or fifth order: of three buys of one bar, sent at once
    assert backtest.fills.decided_at.tolist()[3:6] == [fourth] * 3 and backtest.fills.side.tolist()[3:6] == ["buy"] * 3
