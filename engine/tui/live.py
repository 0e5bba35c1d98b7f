"""A screen that shows work while it runs (runs, studies, a paper session): it refreshes itself on a
timer, `p` pauses and resumes that, and its header says when the refresh is paused. A store it
cannot read (a run store that is a file, a database that stopped) is a line on the screen until a
read succeeds again; the TUI stays up."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from engine.errors import UserError


class LiveScreen(Screen):
    REFRESH_SECONDS = 1.0
    READ_ERRORS: tuple[type[Exception], ...] = (OSError, UserError)
    DEFAULT_CSS = """
    #unreadable { height: auto; padding: 0 1; color: $error; display: none; }
    """
    BINDINGS = [Binding("p", "pause", "Pause", tooltip="Pause or resume the refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self._described = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_body()
        yield Static(id="unreadable")
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        """The widgets between the header and the footer (subclasses)."""
        raise NotImplementedError

    def refresh_live(self) -> None:
        """Read what the screen shows again (subclasses)."""
        raise NotImplementedError

    def unreadable(self, error: Exception) -> str:
        """The line a failed read shows (subclasses name their own stores)."""
        return failure_line(error)

    def read_safely(self, read: Callable[[], None]) -> None:
        """`read` (a refresh, or what a highlighted row shows), a READ_ERRORS failure shown as one line."""
        line = self.query_one("#unreadable", Static)
        try:
            read()
        except self.READ_ERRORS as error:
            line.update(self.unreadable(error))
            line.display = True
            return
        line.display = False

    def start_refreshing(self) -> None:
        """At the end of a subclass's on_mount: shown now, then every REFRESH_SECONDS unless paused."""
        self.read_safely(self.refresh_live)
        self.set_interval(self.REFRESH_SECONDS, self._tick)

    def describe(self, text: str) -> None:
        """The header's subtitle, marked while the refresh is paused."""
        self._described = text
        self.sub_title = text + (" (refresh paused)" if self.paused else "")

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.describe(self._described)

    def _tick(self) -> None:
        if not self.paused:
            self.read_safely(self.refresh_live)


def failure_line(error: Exception) -> str:
    """A failed read in one line: a user error says what and where; an OSError names its file."""
    if isinstance(error, OSError):
        return f"cannot read {error.filename or 'the workspace'}: {error.strerror or error}"
    return str(error)
