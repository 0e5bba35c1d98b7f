"""A paper session seen from another terminal (`engine paper status`, `stop`, `halt`, the TUI's
Paper screen): found by run reference, its state after the last live bar read, asked to stop or
halt through a file in its run folder, which the session looks for between bars
(engine.usecases.paper). Nothing here imports the trading stack, so these commands answer at once.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import UserError
from engine.stores.files import atomic_write
from engine.stores.run_files import read_document
from engine.stores.runs import RunStore, now

LIVE, STOP, HALT, JOURNAL = "live.json", "stop.json", "halt.json", "orders.sqlite"
MANUAL_HALT = "halted by hand (engine paper halt)"


class PaperError(UserError):
    """A session that cannot start, resume, store anything or be found."""


def paper_run(runs: RunStore, reference: str) -> tuple[str, dict]:
    """A paper session's id and status, by a run reference (`latest`: the newest paper session)."""
    if reference == "latest":
        sessions = [summary.run_id for summary in runs.list() if summary.kind == "paper"]
        if not sessions:
            raise PaperError(f"no paper session in {runs.root}")
        reference = sessions[-1]
    run_id = runs.resolve(reference)
    status = runs.status(run_id)
    if status["kind"] != "paper":
        raise PaperError(f"run {run_id} is a {status['kind']}, not a paper session")
    return run_id, status


def live_state(runs: RunStore, run_id: str) -> dict | None:
    """What the session wrote after its last live bar; None before its first."""
    return read_document(runs.path(run_id), LIVE, required=False)


def request_halt(runs: RunStore, reference: str) -> str:
    """Trip a running session's kill switch by hand: it cancels its open orders and sends no more, and
    goes on marking its books; returns its id."""
    run_id = _running_session(runs, reference)
    text = json.dumps({"requested_at": now()}) + "\n"
    atomic_write(runs.path(run_id) / HALT, lambda tmp: Path(tmp).write_text(text))
    return run_id


def _running_session(runs: RunStore, reference: str) -> str:
    run_id, status = paper_run(runs, reference)
    if status["status"] != "running":
        raise PaperError(f"session {run_id} is {status['status']}, not running")
    return run_id


def request_stop(runs: RunStore, reference: str, flatten: bool = False) -> str:
    """Ask a running session to end after the bar it is on (and, with `flatten`, to sell what it holds);
    returns its id."""
    run_id = _running_session(runs, reference)
    text = json.dumps({"requested_at": now(), "flatten": flatten}) + "\n"
    atomic_write(runs.path(run_id) / STOP, lambda tmp: Path(tmp).write_text(text))
    return run_id
