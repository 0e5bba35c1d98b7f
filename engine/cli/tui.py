"""`engine tui`: the Textual TUI over the workspace (engine.tui)."""

from __future__ import annotations

from engine.cli.optimize import StorageOption
from engine.errors import UserError
from engine.workspace import Workspace


def tui(storage: StorageOption = None) -> None:
    """Watch runs (live while they run), open one, compare several, start a backtest, follow and
    run studies (in --storage), watch paper sessions, browse the stored data."""
    from engine.tui.app import EngineApp

    workspace = Workspace.from_env()
    if not workspace.root.is_dir():  # the TUI only reads: an empty screen would hide the mistake
        what = "is a file, not a folder" if workspace.root.exists() else "does not exist"
        raise UserError(f"the workspace {workspace.root} (ENGINE_HOME, or the current folder) {what}")
    if storage is not None:  # a URL that cannot be opened is refused here, not when the Studies screen opens
        from engine.optimize.storage import open_storage

        open_storage(storage, heartbeat=10)
    EngineApp(workspace, storage).run()
