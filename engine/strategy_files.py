"""Finding and reading strategy files.

A name is looked up as NAME.toml in `./strategies/`, then in the built-in `strategies/` folder,
then among the strategy files plugins ship; a path ending in .toml is read as given. Reading
validates the schema only; `engine.resolution` checks the plugins a strategy names.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from engine.strategy import Strategy, StrategyError, parse_strategy

BUILTIN_STRATEGIES = Path(__file__).resolve().parent.parent / "strategies"


def _strategy_folders() -> list[Path]:
    return [Path.cwd() / "strategies", BUILTIN_STRATEGIES]


def _plugin_strategies() -> dict[str, Path]:
    from engine.plugins.registry import registry

    plugins = registry()
    return {name: Path(plugins.get("strategy", name)) for name in plugins.names("strategy")}


def find_strategy(name_or_path: str) -> Path:
    """A .toml path as given, else NAME.toml in ./strategies, the built-in folder, or a plugin's strategies."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    for folder in _strategy_folders():
        path = folder / f"{name_or_path}.toml"
        if path.exists():
            return path
    from_plugins = _plugin_strategies()
    if name_or_path in from_plugins:
        return from_plugins[name_or_path]
    raise StrategyError(f"unknown strategy {name_or_path!r}; known: {', '.join(list_strategies()) or 'none'}")


def load_strategy(name_or_path: str) -> Strategy:
    """The strategy file for a name or path, read and validated (schema only)."""
    path = find_strategy(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise StrategyError(f"{path}: not valid TOML: {error}") from None
    return parse_strategy(raw, str(path))


def list_strategies() -> list[str]:
    in_folders = {path.stem for folder in _strategy_folders() if folder.exists() for path in folder.glob("*.toml")}
    return sorted(in_folders | set(_plugin_strategies()))
