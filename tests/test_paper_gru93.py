"""gru93, the seed's model strategy, paper-traded through `engine sandbox` with the Alpaca broker: its
deployed model decides each live day as the backtest of the same days does, and the session ends
with the backtest's equity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.backtest import prepare, simulate
from engine.strategy_files import find_strategy
from tests.in_process import engine_here
from tests.paper_session import stepped_session
from tests.sandbox import sandbox_server

LIVE_FROM = pd.Timestamp("2007-10-16", tz="UTC")  # gru93 trades eight times in the next 24 days
LIVE_DAYS = 24


def test_gru93_paper_trades_as_its_backtest(sample_home, consumer, monkeypatch, capsys):
    workspace, _ = consumer
    path = workspace.root / "strategies" / "gru93_live.toml"
    path.parent.mkdir()
    gru93 = find_strategy("gru93").read_text().replace('name = "gru93"', 'name = "gru93_live"')
    path.write_text(gru93.replace("[execution]\n", '[execution]\nsize_at = "close"\n'))
    with sandbox_server(sample_home, symbols=("SP500", "NASDAQ"), timeframe="1d", start=LIVE_FROM - pd.Timedelta(days=1)) as url:
        monkeypatch.setenv("ENGINE_ALPACA_URL", url)
        fetched = engine_here(monkeypatch, capsys, "data", "fetch", "SP500", "NASDAQ", "--source", "alpaca", "--timeframe", "1d",
                              "--start", "1999-01-01", "--end", str((LIVE_FROM - pd.Timedelta(days=1)).date()))  # fmt: skip
        assert fetched.returncode == 0, fetched.stderr
        result, _ = stepped_session(workspace, url, path, LIVE_DAYS)
    # The backtest trading from the same first live day, with the thresholds the session calibrated on
    # its history (calibrating again from that day would want 500 days after it).
    from_live = result.strategy.with_overrides(data={"start": str(LIVE_FROM.date())})
    backtest = simulate(prepare(from_live, workspace)).execution
    session = result.run.execution
    assert str(session.bars.index()[0].date()) == "2007-10-16"
    np.testing.assert_allclose(session.equity, backtest.equity[:LIVE_DAYS], rtol=1e-8)
    expected = backtest.fills[backtest.fills.timestamp <= session.bars.index()[-1]]
    assert len(expected) >= 4
    columns = ["timestamp", "symbol", "side"]  # fills at one open come in no particular order
    ordered = [fills[columns].sort_values(columns).to_numpy().tolist() for fills in (session.fills, expected)]
    assert ordered[0] == ordered[1]
