"""How a file a user names on the command line is found: one rule for strategies and search spaces.

A path that exists, relative to where the user stands, is taken as given. Otherwise the same
relative path is tried in the workspace, then among the built-ins (so `configs/search/x.toml` from
the README works in any directory), and a bare name is NAME.toml in the workspace's folder for that
kind of file, then in the built-in one. Without a workspace, only the built-ins are looked in.
"""

from __future__ import annotations

from pathlib import Path

from engine import resources
from engine.workspace import Workspace


def roots(workspace: Workspace | None) -> list[Path]:
    """The workspace, then the built-ins: the first that has a file wins."""
    return [resources.ROOT] if workspace is None else [workspace.root, resources.ROOT]


def find_file(name_or_path: str, folder: Path, workspace: Workspace | None) -> Path | None:
    """The file `name_or_path` names (see the module), or None."""
    given = Path(name_or_path)
    if given.suffix != ".toml":
        candidates = [root / folder / f"{name_or_path}.toml" for root in roots(workspace)]
    elif given.exists() or given.is_absolute():
        candidates = [given]
    else:
        candidates = [root / given for root in roots(workspace)]
    return next((path for path in candidates if path.exists()), None)


def names_in(folder: Path, workspace: Workspace | None) -> dict[str, Path]:
    """Every NAME.toml in the workspace's and the built-in `folder`; the workspace's win."""
    found: dict[str, Path] = {}
    for root in reversed(roots(workspace)):
        found |= {path.stem: path for path in sorted((root / folder).glob("*.toml"))}
    return found
