"""A screen that shows work while it runs (runs, studies, a paper session): it refreshes itself on a
timer, `p` pauses and resumes that, and its header says when the refresh is paused."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen


class LiveScreen(Screen):
    REFRESH_SECONDS = 1.0
    BINDINGS = [Binding("p", "pause", "Pause refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self._described = ""

    def refresh_live(self) -> None:
        """Read what the screen shows again (subclasses)."""
        raise NotImplementedError

    def start_refreshing(self) -> None:
        """At the end of a subclass's on_mount: shown now, then every REFRESH_SECONDS unless paused."""
        self.refresh_live()
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
            self.refresh_live()
