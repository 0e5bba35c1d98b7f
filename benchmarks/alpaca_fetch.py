"""Bars per second fetched through alpaca-py from `engine sandbox` (a separate process on loopback),
beside reading the same bars from the store: the whole synthetic universe, 24 symbols of hourly
bars over two years, every page of up to 10,000 bars checked and stored as a fetch does.

Each fetch goes into an empty workspace, so it asks for everything; the store's read is a first
load (no Arrow cache), the honest peer of a fetch that ends in a Parquet write."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import workspace
from engine.alpaca.bars import fetch_bars
from engine.alpaca.connection import AlpacaConnection
from engine.alpaca.span import Span
from engine.data.sample import SYNTHETIC_SYMBOLS, SYNTHETIC_TIMEFRAME
from engine.data.store import DataStore

REPEATS = 3


def measure() -> dict:
    source = workspace()
    symbols = list(SYNTHETIC_SYMBOLS)
    bars = len(symbols) * source.data.describe(symbols[0], SYNTHETIC_TIMEFRAME).rows
    span = Span.parse("2021-01-01", "2022-12-31")
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "engine", "sandbox", "--port", "0", "--timeframe", SYNTHETIC_TIMEFRAME],
        env={**os.environ, "ENGINE_HOME": str(source.root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"http://\S+", sandbox.stdout.readline()).group(0)
        connection = AlpacaConnection.from_env({"ENGINE_ALPACA_URL": url})
        fetch_seconds = min(_fetch_seconds(connection, symbols, span) for _ in range(REPEATS))
    finally:
        sandbox.terminate()
        sandbox.wait()
    read_seconds = min(_read_seconds(source.data, symbols) for _ in range(REPEATS))
    return {
        "data": f"{len(symbols)} symbols, {bars} hourly bars in all",
        "fetch_through_alpaca_py_from_sandbox_bars_per_second": bars / fetch_seconds,
        "read_from_store_bars_per_second": bars / read_seconds,
        "fetch_seconds": fetch_seconds,
        "read_seconds": read_seconds,
    }


def _fetch_seconds(connection: AlpacaConnection, symbols: list[str], span: Span) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        fetch_bars(DataStore(Path(folder)), connection, symbols, SYNTHETIC_TIMEFRAME, span)
        return time.perf_counter() - start


def _read_seconds(store: DataStore, symbols: list[str]) -> float:
    shutil.rmtree(store.root / "cache" / SYNTHETIC_TIMEFRAME, ignore_errors=True)
    start = time.perf_counter()
    store.load(symbols, SYNTHETIC_TIMEFRAME)
    return time.perf_counter() - start
