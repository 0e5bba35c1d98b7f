"""A paper session through `engine sandbox` run as a separate process on loopback at full speed
(`--speed 0`), as the paper benchmarks measure it: its wall time and, for the Alpaca broker, every
order checked against the sandbox's (none lost, none sent twice) with its latency."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from engine.alpaca.bars import fetch_bars
from engine.alpaca.connection import AlpacaConnection
from engine.alpaca.request import AlpacaRequest
from engine.alpaca.retries import RetryPolicy, send
from engine.alpaca.span import Span
from engine.data.sample import SYNTHETIC_TIMEFRAME
from engine.feeds.alpaca import LiveSettings
from engine.stores.order_journal import OrderJournal
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy
from engine.usecases.paper import JOURNAL, PaperSession
from engine.workspace import Workspace

LIVE_FROM = "2022-12-01"
HISTORY = ("2022-09-01", "2022-11-30")
QUICK = RetryPolicy(first_wait=0.01, max_wait=0.01)


def sma_cross_strategy(name: str, symbols: tuple[str, ...]) -> str:
    """A strategy file's text: a fast sma cross (2 over 3 hours) on `symbols`, sized at the close as
    every paper session sizes."""
    return f"""
name = "{name}"
[data]
symbols = {list(symbols)!r}
timeframe = "{SYNTHETIC_TIMEFRAME}"
[signal]
kind = "sma_cross"
fast = 2
slow = 3
[execution]
size_at = "close"
"""


@contextmanager
def sandboxed(source: Workspace, faults: str):
    """`engine sandbox` serving `source` from LIVE_FROM with `faults`, and the environment of a fresh
    consumer workspace pointed at it: yields that workspace and its connection."""
    command = [sys.executable, "-m", "engine", "sandbox", "--port", "0", "--timeframe", SYNTHETIC_TIMEFRAME,
               "--from", LIVE_FROM, "--speed", "0", *(["--faults", faults] if faults else [])]  # fmt: skip
    sandbox = subprocess.Popen(command, env={**os.environ, "ENGINE_HOME": str(source.root)}, stdout=subprocess.PIPE, text=True)
    saved = {name: os.environ.get(name) for name in ("ENGINE_HOME", "ENGINE_ALPACA_URL", "ENGINE_ALPACA_MAX_WAIT")}
    try:
        url = re.search(r"http://\S+", sandbox.stdout.readline()).group(0)
        with tempfile.TemporaryDirectory() as folder:
            os.environ |= {"ENGINE_HOME": folder, "ENGINE_ALPACA_URL": url, "ENGINE_ALPACA_MAX_WAIT": "0.01"}
            yield Workspace(Path(folder)), AlpacaConnection.from_env()
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        sandbox.terminate()
        sandbox.wait()


def run_session(consumer: Workspace, connection: AlpacaConnection, strategy: str, broker: str, live_bars: int) -> dict:
    """The session of the strategy file's text `strategy` over `live_bars` bars after its history (fetched
    first): live bars per second and, with the Alpaca broker, its orders (`orders_checked`)."""
    (consumer.root / "strategies").mkdir(exist_ok=True)
    path = consumer.root / "strategies" / "bench.toml"
    path.write_text(strategy)
    loaded = load_strategy(str(path))
    fetch_bars(consumer.data, connection, list(loaded.data.symbols), loaded.data.timeframe, Span.parse(*HISTORY))
    session = PaperSession(resolve_strategy(loaded), consumer, connection, LiveSettings(poll=0.1, max_bars=live_bars), [], broker)
    start = time.perf_counter()
    _, run_id = session.run()
    seconds = time.perf_counter() - start
    figures = {"live_bars_per_second": live_bars / seconds, "session_seconds": seconds}
    if broker == "alpaca":
        figures |= orders_checked(connection, consumer.runs.path(run_id) / JOURNAL)
    return figures


def orders_checked(connection: AlpacaConnection, journal_path: Path) -> dict:
    """The journal's orders against the sandbox's: sent once each, none lost; and their latency from
    the decision to the acknowledgement."""
    journal = OrderJournal(journal_path)
    journaled = {order.client_order_id for order in journal.orders() if order.broker_id is not None}
    placed = Counter(order["client_order_id"] for order in all_orders(connection))
    latency = np.array(journal.sent_seconds())
    journal.close()
    return {
        "orders_sent": len(journaled),
        "orders_duplicated": sum(count - 1 for count in placed.values()),
        "orders_lost": len(journaled - set(placed)),
        "orders_unknown_to_the_journal": len(set(placed) - journaled),
        "decision_to_acknowledgement_median_ms": 1000 * float(np.median(latency)),
        "decision_to_acknowledgement_p99_ms": 1000 * float(np.percentile(latency, 99)),
    }


def all_orders(connection: AlpacaConnection) -> list[dict]:
    return send(connection.trading_client(), AlpacaRequest("/orders", "v2", ()), {"status": "all", "limit": 500}, QUICK)
