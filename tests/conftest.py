from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.data.sample import write_sample
from engine.data.store import DataStore
from engine.workspace import Workspace
from tests.in_process import engine_here


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
