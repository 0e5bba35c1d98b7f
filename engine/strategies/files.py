"""Finding and reading strategy files.

A name or path is found by engine.strategies.lookup's rule (as given, then in the workspace's `strategies/`,
then among the built-ins), then among the strategy files the workspace's plugins ship. Without a
workspace: a path as given, or a built-in. Reading validates the schema only; `engine.strategies.resolution`
checks the plugins a strategy names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine import resources
from engine.strategies.lookup import find_file, names_in
from engine.strategies.schema import Strategy, StrategyError, parse_strategy
from engine.strategies.toml_files import read_toml
from engine.workspace import Workspace


def _plugin_strategies(workspace: Workspace | None) -> dict[str, tuple[Path, str]]:
    """Strategy files the workspace's plugins ship: name -> (path, the plugin's origin)."""
    if workspace is None:
        return {}
    plugins = workspace.registry
    shipped = [entry for entry in plugins.entries if entry.kind == "strategy"]
    return {entry.name: (Path(plugins.get("strategy", entry.name)), entry.origin) for entry in shipped}


def find_strategy(name_or_path: str, workspace: Workspace | None = None) -> Path:
    """The file by engine.strategies.lookup's rule, else a plugin's strategy of that name."""
    path = find_file(name_or_path, resources.STRATEGIES, workspace)
    if path is not None:
        return path
    from_plugins = _plugin_strategies(workspace)
    if name_or_path in from_plugins:
        return from_plugins[name_or_path][0]
    raise StrategyError(f"unknown strategy {name_or_path!r}; known: {', '.join(list_strategies(workspace)) or 'none'}")


def load_strategy(name_or_path: str, workspace: Workspace | None = None) -> Strategy:
    """The strategy file for a name or path, read and validated (schema only)."""
    return read_strategy(find_strategy(name_or_path, workspace))


def read_strategy(path: Path) -> Strategy:
    """A strategy file already found, read and validated (schema only)."""
    return parse_strategy(read_toml(path, StrategyError), str(path))


def list_strategies(workspace: Workspace | None = None) -> list[str]:
    return [entry.name for entry in strategy_entries(workspace)]


@dataclass(frozen=True)
class StrategyEntry:
    name: str
    path: Path
    origin: str  # workspace, built-in, or the plugin's origin


def strategy_entries(workspace: Workspace | None = None) -> list[StrategyEntry]:
    """Every strategy a name can reach, by name, where the lookup finds it."""
    entries = {name: StrategyEntry(name, path, origin) for name, (path, origin) in _plugin_strategies(workspace).items()}
    for name, path in names_in(resources.STRATEGIES, workspace).items():
        entries[name] = StrategyEntry(name, path, "built-in" if path.is_relative_to(resources.ROOT) else "workspace")
    return [entries[name] for name in sorted(entries)]
