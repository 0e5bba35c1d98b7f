"""`engine tui`: the Textual TUI over the workspace (engine.tui)."""

from __future__ import annotations

from engine.workspace import Workspace


def tui() -> None:
    """Watch runs (live while they run), open one, compare several, browse the stored data."""
    from engine.tui.app import EngineApp

    EngineApp(Workspace.from_env()).run()
