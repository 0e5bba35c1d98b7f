"""A run's configuration (config.json) as a two-column table a reader can scan.

Sections flatten to dotted names (`costs.commission_bps`); lists of values are written inline; a
list of settings (the overlay chain) gives a row per item, its kind first; anything nested deeper
than two names (an entry of the search space) is written inline in one cell.
"""

from __future__ import annotations

from engine.analytics.formatting import MISSING
from engine.report.render import Table

INLINE_DEPTH = 3  # names at this depth and below hold their whole value in one cell


def inline(value) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()  # as the strategy file writes it
    if isinstance(value, dict):
        settings = ", ".join(f"{key} {_nested(item)}" for key, item in value.items() if key != "kind" and item is not None)
        if "kind" not in value:
            return settings or "none"
        return f"{value['kind']}: {settings}" if settings else str(value["kind"])
    if isinstance(value, list):
        return ", ".join(_nested(item) for item in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _nested(value) -> str:
    """A value inside an inline cell: bracketed when it is itself a list or a section."""
    if isinstance(value, list):
        return f"[{inline(value)}]"
    return f"({inline(value)})" if isinstance(value, dict) else inline(value)


def _rows(value, name: str, depth: int) -> list[list[str]]:
    if isinstance(value, dict) and value and depth < INLINE_DEPTH:
        return [row for key, item in value.items() for row in _rows(item, f"{name}.{key}" if name else key, depth + 1)]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [[f"{name} {position}", inline(item)] for position, item in enumerate(value, start=1)]
    return [[name, inline(value)]]


def config_table(config: dict) -> Table:
    """The strategy's settings (its name and description are the report's heading), then the run's."""
    strategy = {key: value for key, value in config["strategy"].items() if key not in ("name", "description")}
    run = {key: value for key, value in config.items() if key != "strategy"}
    return Table(["setting", "value"], _rows(strategy, "", 0) + _rows(run, "", 0))
