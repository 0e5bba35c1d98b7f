"""A yes/no question before anything that cannot be taken back (stopping a session or a study's workers)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class Confirm(ModalScreen[bool]):
    """A yes/no question before anything that cannot be taken back."""

    DEFAULT_CSS = """
    Confirm { align: center middle; }
    /* As wide as its question, which wraps only where the screen is narrower (a fixed width cut it). */
    Confirm > Vertical { width: auto; max-width: 100%; height: auto; border: thick $warning; padding: 1 2; background: $surface; }
    Confirm Label { width: auto; max-width: 100%; }
    Confirm Horizontal { width: auto; height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
