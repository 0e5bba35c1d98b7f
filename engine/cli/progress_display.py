"""Long work shown on standard error: a rich progress bar on a terminal, one line per stage otherwise.

`StageDisplay` listens to `engine.progress` (training folds and epochs, a backtest's stages) and
to the CLI's own stages (importing, writing the report). On a terminal the current stage is one
live line: spinner, description, a bar and count when the stage has a total, elapsed time and,
for a bar, time left; it disappears when the command ends. When standard error is not a terminal
(a log file, CI) nothing is redrawn: each stage prints one line as it begins.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from engine.analytics.formatting import counted, plural
from engine.cli.output import WARNING, print_labelled, stderr


class _WhenCounted(ProgressColumn):
    """A column shown only for a stage with a known total (a spinner-only stage has no bar)."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> Text:
        return self.column.render(task) if task.total is not None else Text("")


def progress_columns() -> list[ProgressColumn]:
    return [
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # a stage names a study, a run, a symbol: text, not markup
        _WhenCounted(BarColumn(bar_width=24)),
        _WhenCounted(MofNCompleteColumn()),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        _WhenCounted(TimeRemainingColumn()),
    ]


class StageDisplay:
    """One stage at a time on `console`; use as a context manager around the work."""

    def __init__(self, console: Console = stderr) -> None:
        self.console = console
        self.live = console.is_terminal
        self.bar = Progress(*progress_columns(), console=console, transient=True, disable=not self.live)
        self.task = None

    def __enter__(self) -> StageDisplay:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(description, total=total, unit=plural(total or 0, unit) if unit else "")
        if not self.live:
            how_many = f", {counted(total, unit)}" if total is not None and unit else ""
            self.console.print(f"{description}{how_many}", highlight=False, markup=False)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, steps)

    def notice(self, text: str) -> None:
        print_labelled(WARNING, text, self.console)  # above the live bar on a terminal


DAY = 86_400.0


class StudyDisplay:
    """A study's trials on `console`: a bar with the best so far and the time left (from every trial
    this run has finished, not a recent window: a training trial can take minutes), and what the
    running trial is doing (its `engine.progress` stages). When `console` is not a terminal: one
    line per finished trial."""

    def __init__(self, description: str, total: int, completed: int, console: Console = stderr) -> None:
        self.console, self.total = console, total
        self.live = console.is_terminal
        self.bar = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[best]}", markup=False),
            TextColumn("{task.fields[now]}", style="dim", markup=False),
            console=console,
            disable=not self.live,
            speed_estimate_period=DAY,
        )
        self.task = self.bar.add_task(description, total=total, completed=completed, best="", now="")
        self.now, self.steps, self.of, self.unit = "", 0, None, ""

    def __enter__(self) -> StudyDisplay:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def trials(self, done: int, best: str) -> None:
        task = self.bar.tasks[self.task]
        finished_one = done > task.completed
        self.bar.update(self.task, completed=done, best=best)
        if finished_one and not self.live:
            left = task.time_remaining
            eta = f", about {_duration(left)} left" if left is not None and done < self.total else ""
            self.console.print(f"{done} of {self.total} trials done{eta}; {best}", highlight=False, markup=False)

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        self.now, self.steps, self.of, self.unit = description, 0, total, unit
        self._show_now()

    def advance(self, steps: int = 1) -> None:
        self.steps += steps
        self._show_now()

    def notice(self, text: str) -> None:
        print_labelled(WARNING, text, self.console)

    def _show_now(self) -> None:
        how_many = f" {self.steps}/{self.of} {plural(self.of, self.unit)}" if self.of is not None else ""
        self.bar.update(self.task, now=f"trial: {self.now}{how_many}")


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"
