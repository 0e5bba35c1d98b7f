"""Where the built-in plugins, strategies, search spaces and report templates are.

In a checkout (and an editable install) they are the repository's top-level folders `plugins/`,
`strategies/`, `configs/` and `reports/`. A wheel ships the same folders, in the same layout,
inside the package as `engine/_builtin/` (pyproject.toml's force-include): top-level `plugins` or
`reports` packages in site-packages would collide with anyone else's of that name.

A workspace has the same layout for what a user writes: the folders below, relative to `ROOT` or
to the workspace.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SHIPPED = _PACKAGE / "_builtin"
ROOT = _SHIPPED if _SHIPPED.is_dir() else _PACKAGE.parent

PLUGINS = Path("plugins")
STRATEGIES = Path("strategies")
SEARCH_SPACES = Path("configs") / "search"
REPORT_TEMPLATES = ROOT / "reports" / "templates"
