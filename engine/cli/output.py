"""Terminal output: tables and progress on standard error, machine-readable JSON on standard output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from engine.formatting import format_metric

stderr = Console(stderr=True)
stdout = Console()


def metrics_table(title: str, columns: dict[str, dict]) -> Table:
    """One row per metric, one column per run (strategy, benchmark, …)."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    names = list(next(iter(columns.values())))
    for metric in names:
        table.add_row(metric, *(format_metric(metric, values.get(metric)) for values in columns.values()))
    return table


def ablation_table(steps: list[dict]) -> Table:
    """The overlay chain built up step by step: one row per step."""
    table = Table(title="overlay ablation (cumulative)", title_justify="left")
    for column in ("step", "total return", "sharpe", "max drawdown", "trades", "turnover", "costs paid"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step in steps:
        table.add_row(
            step["step"],
            *(
                format_metric(name, step[name])
                for name in ("total_return", "sharpe", "max_drawdown", "trades", "turnover", "costs_paid")
            ),
        )
    return table


def print_json_line(payload: dict | list) -> None:
    """The last line of standard output: one JSON object (or array, for lists)."""
    sys.stdout.write(json.dumps(payload, allow_nan=False) + "\n")
    sys.stdout.flush()


def progress_bar(*extra: TextColumn, transient: bool = True) -> Progress:
    """A progress bar on standard error: description, bar, done/total, elapsed, time left, extras."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra,
        console=stderr,
        transient=transient,
    )


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A transient progress bar; yields a function that advances it."""
    bar = progress_bar()
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda advance: bar.advance(task, advance)
