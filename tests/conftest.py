from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.sample import write_sample
from engine.data.store import DataStore
from engine.workspace import Workspace


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
