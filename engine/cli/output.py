"""Terminal output: tables on standard output, machine-readable JSON as its last line.

Every table goes through `print_table`. On a terminal it fits the terminal's width: headers are
abbreviated first, then the least needed columns are left out (a line says which, and where to see
them), and an identifier (a run id, a study, a symbol) is never cut or wrapped while it fits on a
line. When standard output is not a terminal (a pipe, a file) the table is plain text at full
width: a `# title` line, then the header and one line per row, fields separated by one tab, every
value whole (a multi-line cell joined with "; "), no colour and no box, for `cut -f`, `sort -t`,
`column -t -s $'\\t'` or a spreadsheet.

Text that comes from the user or the store (a message, a name, a path, a table cell) is never read as
rich markup, where `[optimize.space]` would vanish as an unknown tag: it goes out through
`print_line` and `print_labelled`, or as `Text` in a table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from engine.analytics.formatting import format_metric


def _console(**options) -> Console:
    console = Console(**options)
    # In a pipe or a file a line is never broken at an assumed width: paths and ids stay whole.
    console.soft_wrap = not console.is_terminal
    return console


stderr = _console(stderr=True)
stdout = _console()

ALWAYS = 1_000  # `keep` of a column that is never left out


@dataclass(frozen=True)
class Column:
    """A table column. `keep`: columns with the lowest keep are left out first when the terminal is
    too narrow (ALWAYS: never). `short`: the header when headers must be abbreviated.
    `identifier`: a value to copy whole (an id, a name): never wrapped, never left out."""

    header: str
    justify: Literal["left", "right"] = "left"
    keep: int = 0
    short: str | None = None
    identifier: bool = False

    @property
    def kept_always(self) -> bool:
        return self.identifier or self.keep >= ALWAYS


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    more: str | None = None,
    console: Console = stdout,
) -> None:
    """Print a table that fits `console` (see the module docstring). `more`: where to see what a
    narrow terminal leaves out (a detail command), said after the names of the columns left out."""
    if not console.is_terminal:
        _print_plain(columns, rows, title, console)
        return
    if title:
        console.print(title, highlight=False, markup=False)
    shown, abbreviated = _fit(columns, rows, console)
    console.print(_rich_table(columns, rows, shown, abbreviated))
    left_out = [column.header for index, column in enumerate(columns) if index not in shown]
    if left_out:
        where = more or "a wider terminal or a pipe shows them"
        line = f"{', '.join(left_out)} left out to fit {console.width} columns; {where}"
        console.print(line, style="dim", highlight=False, markup=False)


def _print_plain(columns: Sequence[Column], rows: Sequence[Sequence[str]], title: str | None, console: Console) -> None:
    lines = [] if title is None else [f"# {_one_line(title)}"]
    lines.append("\t".join(column.header for column in columns))
    lines.extend("\t".join(_one_line(cell) for cell in row) for row in rows)
    # Straight to the stream: rich would wrap at its width and read markup in the values.
    console.file.write("\n".join(lines) + "\n")
    console.file.flush()


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in str(text).splitlines()).replace("\t", " ")


def _fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], console: Console) -> tuple[list[int], bool]:
    """The columns to show and whether to abbreviate headers: full headers if everything fits,
    then short headers, then leave out columns by `keep` (the rightmost first among equals)."""
    shown = list(range(len(columns)))
    if _width(columns, rows, shown, False, console) <= console.width:
        return shown, False
    droppable = sorted((index for index in shown if not columns[index].kept_always), key=lambda i: (columns[i].keep, -i))
    while _width(columns, rows, shown, True, console) > console.width and droppable:
        shown.remove(droppable.pop(0))
    return shown, True


def _width(columns, rows, shown: list[int], abbreviated: bool, console: Console) -> int:
    table = _rich_table(columns, rows, shown, abbreviated)
    return console.measure(table, options=console.options.update_width(10_000)).maximum


def _rich_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], shown: list[int], abbreviated: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_edge=False)
    for index in shown:
        column = columns[index]
        header = column.short if abbreviated and column.short else column.header
        # `_fit` leaves out columns until the rest fit at their natural widths; on a terminal narrower
        # than what stays, rich narrows columns and a value folds onto more lines, never cut.
        table.add_column(Text(header), justify=column.justify, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(row[index])) for index in shown))
    return table


def print_metrics(title: str, columns: dict[str, dict]) -> None:
    """One row per metric, one column per run (strategy, benchmark, …)."""
    header = [Column("metric", keep=ALWAYS), *(Column(name, "right", keep=ALWAYS) for name in columns)]
    names = list(next(iter(columns.values())))
    rows = [[metric, *(format_metric(metric, values.get(metric)) for values in columns.values())] for metric in names]
    print_table(header, rows, title=title)


ABLATION_METRICS = {
    "total_return": "total return",
    "sharpe": "sharpe",
    "max_drawdown": "max drawdown",
    "trades": "trades",
    "turnover": "turnover",
    "costs_paid": "costs paid",
}
ABLATION_SHORT = {"total_return": "return", "max_drawdown": "max dd", "costs_paid": "costs"}


def print_ablation(steps: list[dict]) -> None:
    """The overlay chain built up step by step: one row per step."""
    columns = [
        Column("step", keep=ALWAYS),
        *(Column(header, "right", keep=ALWAYS, short=ABLATION_SHORT.get(name)) for name, header in ABLATION_METRICS.items()),
    ]
    rows = [[step["step"], *(format_metric(name, step[name]) for name in ABLATION_METRICS)] for step in steps]
    alone = " and each ensemble member alone through the whole chain" if any(step["step"] == "ensemble" for step in steps) else ""
    print_table(columns, rows, title=f"overlay ablation (cumulative){alone}")


def print_line(text: str, console: Console = stdout) -> None:
    """A line of text as written (a message, a path, an id): no markup is read in it, and rich never
    breaks it (the terminal wraps it and copies it whole)."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


WARNING = "[bold yellow]warning:[/]"
ERROR = "[bold red]error:[/]"


def print_labelled(label: str, text: str, console: Console = stderr) -> None:
    """A styled `label` (rich markup: WARNING, ERROR) before `text`, which is printed as written."""
    console.print(f"{label} {escape(text)}", soft_wrap=True, highlight=False)


ListJson = Annotated[bool, typer.Option("--json", help="Print one JSON array instead of a table")]


def print_json_line(payload: dict | list) -> None:
    """The last line of standard output: one JSON value."""
    sys.stdout.write(json.dumps(payload, allow_nan=False) + "\n")
    sys.stdout.flush()
