"""Event-driven trading research, backtesting and paper-trading engine: its Python API.

    import engine

    research = engine.open_workspace()      # $ENGINE_HOME or the current directory, or a path
    gru93 = research.backtest("gru93")      # stored as a run with its report, as `engine backtest` does
    gru93.metrics, gru93.baselines          # net of costs, beside buy-and-hold and an SMA cross
    gru93.plot()                            # equity beside the baselines
    research.train("gru93"), research.check("sma_cross"), research.optimize("sma_cross", trials=20)
    research.runs(), research.run("latest"), research.compare(gru93.run_id, "latest")

`engine.api` holds the calls and the results they return (a notebook shows each as a table); the CLI
and the TUI are faces over the same use cases. Importing `engine` imports nothing heavy: the libraries
load when a call needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.api import Research

__version__ = "0.1.0"
__all__ = ["open_workspace"]


def open_workspace(path: str | Path | None = None) -> Research:
    """The workspace at `path`, or else `$ENGINE_HOME`, or else the current directory."""
    from engine.api import Research
    from engine.workspace import Workspace

    return Research(Workspace(Path(path).expanduser().resolve()) if path is not None else Workspace.from_env())
