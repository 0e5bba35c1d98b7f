"""A paper session soaked with faults: a trading day of hourly bars for the whole synthetic universe
(24 symbols) through `engine sandbox` (a separate process on loopback) at full speed, with 429s,
5xx, lost order replies, and dropped, repeated and reordered stream messages. Bars per second and
the decision-to-acknowledgement latency of each order (median, p99), and every order checked: none
lost, none sent twice. The peer is the dry run of the same session (`--broker sim`) on the same
feed, in the same run: what orders to Alpaca cost on top of the live feed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.common import workspace
from engine.alpaca.bars import fetch_bars
from engine.alpaca.connection import AlpacaConnection
from engine.alpaca.span import Span
from engine.data.sample import SYNTHETIC_SYMBOLS, SYNTHETIC_TIMEFRAME
from engine.feeds.alpaca import LiveSettings
from engine.stores.order_journal import OrderJournal
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy
from engine.usecases.paper import JOURNAL, PaperSession
from engine.workspace import Workspace

LIVE_FROM = "2022-12-01"
LIVE_BARS = 7  # a trading day of hours
FAULTS = "rate_limit=0.1,retry_after=0.01,server_error=0.05,lost_reply=0.2,drop_every=25,duplicate=0.1,out_of_order=0.1"
STRATEGY = f"""
name = "soak"
[data]
symbols = {list(SYNTHETIC_SYMBOLS)!r}
timeframe = "{SYNTHETIC_TIMEFRAME}"
[signal]
kind = "sma_cross"
fast = 2
slow = 3
[execution]
size_at = "close"
"""


def measure() -> dict:
    source = workspace()
    figures = {"data": f"{len(SYNTHETIC_SYMBOLS)} symbols, {LIVE_BARS} live hourly bars from {LIVE_FROM}", "faults": FAULTS}
    for broker in ("alpaca", "sim"):
        figures |= {f"{broker}_{name}": value for name, value in _session(source, broker).items()}
    return figures


def _session(source: Workspace, broker: str) -> dict:
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine",
            "sandbox",
            "--port",
            "0",
            "--timeframe",
            SYNTHETIC_TIMEFRAME,
            "--from",
            LIVE_FROM,
            "--speed",
            "0",
            "--faults",
            FAULTS,
        ],  # fmt: skip
        env={**os.environ, "ENGINE_HOME": str(source.root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    saved = {name: os.environ.get(name) for name in ("ENGINE_HOME", "ENGINE_ALPACA_URL", "ENGINE_ALPACA_MAX_WAIT")}
    try:
        url = re.search(r"http://\S+", sandbox.stdout.readline()).group(0)
        with tempfile.TemporaryDirectory() as folder:
            os.environ |= {"ENGINE_HOME": folder, "ENGINE_ALPACA_URL": url, "ENGINE_ALPACA_MAX_WAIT": "0.01"}
            consumer = Workspace(Path(folder))
            connection = AlpacaConnection.from_env()
            fetch_bars(
                consumer.data, connection, list(SYNTHETIC_SYMBOLS), SYNTHETIC_TIMEFRAME, Span.parse("2022-09-01", "2022-11-30")
            )
            (consumer.root / "strategies").mkdir()
            (consumer.root / "strategies" / "soak.toml").write_text(STRATEGY)
            resolved = resolve_strategy(load_strategy(str(consumer.root / "strategies" / "soak.toml")))
            session = PaperSession(resolved, consumer, connection, LiveSettings(poll=0.1, max_bars=LIVE_BARS), [], broker)
            start = time.perf_counter()
            _, run_id = session.run()
            seconds = time.perf_counter() - start
            figures = {"live_bars_per_second": LIVE_BARS / seconds, "session_seconds": seconds}
            if broker == "alpaca":
                figures |= _orders(connection, consumer.runs.path(run_id) / JOURNAL)
            return figures
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        sandbox.terminate()
        sandbox.wait()


def _orders(connection: AlpacaConnection, journal_path: Path) -> dict:
    """The journal's orders against the sandbox's: sent once each, none lost; and their latency."""
    journal = OrderJournal(journal_path)
    journaled = {order.client_order_id for order in journal.orders() if order.broker_id is not None}
    placed = Counter(order["client_order_id"] for order in _all_orders(connection))
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


def _all_orders(connection: AlpacaConnection) -> list[dict]:
    from engine.alpaca.request import AlpacaRequest
    from engine.alpaca.retries import RetryPolicy, send

    request = AlpacaRequest("/orders", "v2", ())
    return send(
        connection.trading_client(), request, {"status": "all", "limit": 500}, RetryPolicy(first_wait=0.01, max_wait=0.01)
    )


if __name__ == "__main__":
    print(measure())
