from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from engine.data.sample import write_sample
from engine.data.store import DataStore
from engine.sandbox.faults import Faults
from engine.workspace import Workspace
from tests.in_process import engine_here
from tests.sandbox import HISTORY_END, LIVE_FROM, SIZED_AT_CLOSE, SYMBOLS, sandbox_server

# `make test` runs two workers on the two cores: one OpenMP thread each for torch, in the workers and
# in the engine processes tests start. With torch's default of a thread per core, their spinning
# threads fight over the cores and two training tests side by side ran four to ten times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory) -> Path:
    """A workspace holding the embedded sample data, written once per test session."""
    home = tmp_path_factory.mktemp("engine-home")
    write_sample(DataStore(home / "data"))
    return home


@pytest.fixture
def workspace(sample_home, monkeypatch) -> Workspace:
    monkeypatch.setenv("ENGINE_HOME", str(sample_home))
    return Workspace(sample_home)


@pytest.fixture
def store(sample_home) -> DataStore:
    return DataStore(sample_home / "data")


@pytest.fixture
def cli(sample_home, monkeypatch, capsys):
    """`engine ARGS` in this process, on the sample workspace (what `engine` runs, without paying for
    a new interpreter): a CompletedProcess-like result. A test may point ENGINE_HOME elsewhere after."""
    monkeypatch.setenv("ENGINE_HOME", str(sample_home))

    def run(*args: str) -> subprocess.CompletedProcess:
        return engine_here(monkeypatch, capsys, *args)

    return run


@pytest.fixture
def sandbox_url(sample_home) -> Iterator[str]:
    """A sandbox (tests/sandbox.py) over the sample workspace, pages capped at 100 items: its base URL."""
    from tests.sandbox import sandbox_server

    with sandbox_server(sample_home, page_size=100) as url:
        yield url


@pytest.fixture
def consumer(tmp_path, monkeypatch, capsys):
    """A workspace to trade from (keys unset: a sandbox on loopback needs none), and a function that
    points it at a sandbox at `url` and fills its history (the hours of `symbols` to HISTORY_END) from there."""
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    monkeypatch.setenv("ENGINE_ALPACA_MAX_WAIT", "0.01")
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)

    def fetch_history(url: str, symbols: tuple[str, ...] = SYMBOLS) -> None:
        monkeypatch.setenv("ENGINE_ALPACA_URL", url)
        fetched = engine_here(monkeypatch, capsys, "data", "fetch", *symbols, "--source", "alpaca", "--timeframe", "1h",
                              "--start", "2022-09-01", "--end", HISTORY_END)  # fmt: skip
        assert fetched.returncode == 0, fetched.stderr

    return Workspace(tmp_path), fetch_history


@pytest.fixture
def trader(consumer, sample_home):
    """A consumer with the sized-at-close sma strategy, and a stepped sandbox (faults as asked) whose
    clock stands at the consumer's last stored bar."""
    workspace, fetch_history = consumer
    path = workspace.root / "strategies" / "sma_live.toml"
    path.parent.mkdir()
    path.write_text(SIZED_AT_CLOSE)

    @contextmanager
    def sandbox(faults: str = "", seed: int = 0) -> Iterator[str]:
        start = LIVE_FROM - pd.Timedelta(hours=4)
        with sandbox_server(sample_home, symbols=SYMBOLS, start=start, faults=Faults.parse(faults), seed=seed) as url:
            fetch_history(url)
            yield url

    return workspace, path, sandbox
