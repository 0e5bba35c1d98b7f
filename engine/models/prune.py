"""Which trained folds no strategy refers to, so that `engine models prune` can delete them.

A strategy refers to the folds its walk-forward over its stored bars trains or reuses. Folds that
only a study's trials, an edited strategy or replaced data needed are not referred to; they are
retrained, identically, if ever needed again. Stored predictions and GARCH fits are left alone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError
from engine.features.base import FeatureInputsMissing
from engine.models.learned import planned_keys
from engine.strategies.files import read_strategy, strategy_entries
from engine.strategies.resolution import resolve_strategy
from engine.strategies.schema import StrategyError
from engine.usecases.backtest import load_bars
from engine.workspace import Workspace


class PruneRefused(UserError):
    """A model strategy could not be read, so its folds cannot be told apart: nothing is deleted."""


@dataclass(frozen=True)
class UnreferencedFold:
    key: str
    plugin: str
    bytes: int


def referenced_keys(workspace: Workspace) -> set[str]:
    keys: set[str] = set()
    for entry in strategy_entries(workspace):
        try:
            resolved = resolve_strategy(read_strategy(entry.path), str(entry.path), workspace)
            if resolved.model is not None:
                keys |= set(planned_keys(resolved.model, load_bars(resolved.strategy, workspace.data)))
        except FeatureInputsMissing:
            continue  # it cannot train now (no news, say), so no fold is in use by it
        except (StrategyError, UserError, ValueError) as error:
            why = f"cannot tell which folds strategy {entry.name} uses ({error})"
            raise PruneRefused(f"models prune: {why}; nothing deleted") from None
    return keys


def unreferenced_folds(workspace: Workspace) -> list[UnreferencedFold]:
    store, keep = workspace.models, referenced_keys(workspace)
    if not store.root.exists():
        return []
    return [
        UnreferencedFold(folder.name, (store.read_meta(folder.name) or {}).get("plugin", "damaged"), _size(folder))
        for folder in sorted(store.root.iterdir())
        if store.has(folder.name) and folder.name not in keep
    ]


def remove_folds(workspace: Workspace, folds: list[UnreferencedFold]) -> None:
    """Each fold renamed out of sight first, so that no half-deleted fold is ever loaded."""
    for fold in folds:
        doomed = workspace.models.root / f".pruning-{fold.key}"
        workspace.models.path(fold.key).rename(doomed)
        shutil.rmtree(doomed)


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
