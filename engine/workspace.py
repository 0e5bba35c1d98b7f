"""Where a user's data store and run store live: $ENGINE_HOME, or the current directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.data.store import DataStore
from engine.models.store import ModelStore
from engine.runstore import RunStore


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def from_env(cls) -> Workspace:
        return cls(Path(os.environ.get("ENGINE_HOME", ".")).resolve())

    @property
    def data(self) -> DataStore:
        return DataStore(self.root / "data")

    @property
    def models(self) -> ModelStore:
        return ModelStore(self.root / "models")

    @property
    def runs(self) -> RunStore:
        return RunStore(self.root / "runs")
