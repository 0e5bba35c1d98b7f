"""The workspace: where everything a user writes lives (data, models, runs, strategies, search spaces,
plugins), `$ENGINE_HOME`, or else the current directory.

It is the context every use case works in: an entry point (the CLI, the TUI, `engine.open_workspace`
in a notebook) builds it once and passes it down, with the plugins it sees (`registry`). Nothing
below the entry points reads the environment for it, so two workspaces can be used in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine import resources
from engine.data.store import DataStore
from engine.models.store import ModelStore
from engine.news.store import NewsStore
from engine.stores.releases import ReleaseStore
from engine.stores.runs import RunStore

if TYPE_CHECKING:
    from engine.plugins.registry import PluginRegistry


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def from_env(cls) -> Workspace:
        """`$ENGINE_HOME`, or the current directory: for entry points only."""
        return cls(Path(os.environ.get("ENGINE_HOME", ".")).resolve())

    @property
    def registry(self) -> PluginRegistry:
        """The plugins this workspace sees: the built-in ones, the installed ones and its drop-ins."""
        from engine.plugins.registry import registry_of

        return registry_of(self.plugins)

    @property
    def data(self) -> DataStore:
        return DataStore(self.root / "data")

    @property
    def news(self) -> NewsStore:
        return NewsStore(self.root / "data" / "news")

    @property
    def models(self) -> ModelStore:
        return ModelStore(self.root / "models")

    @property
    def strategies(self) -> Path:
        """The user's strategy files (`engine optimize export` writes here)."""
        return self.root / resources.STRATEGIES

    @property
    def search_spaces(self) -> Path:
        """The user's search-space files for `engine optimize --space NAME`."""
        return self.root / resources.SEARCH_SPACES

    @property
    def plugins(self) -> Path:
        """The user's drop-in plugins (`engine plugins new` writes here)."""
        return self.root / resources.PLUGINS

    @property
    def runs(self) -> RunStore:
        return RunStore(self.root / "runs")

    @property
    def releases(self) -> ReleaseStore:
        """Immutable packages of backtested strategies (`engine release`)."""
        return ReleaseStore(self.root / "releases")
