"""Reading the studies `engine optimize` processes write, while they run: each read opens the
storage as the engine does (so a read never races a worker creating a fresh storage)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import optuna
from helpers import wait_for
from test_cli import ENGINE

from engine.optimize.storage import open_storage


def storage_of(home: Path) -> str:
    return f"sqlite:///{home / 'runs' / 'studies.sqlite3'}"


def load(home: Path, name: str, storage: str | None = None) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(storage or storage_of(home), heartbeat=10))


def states(study: optuna.Study) -> dict[str, int]:
    tally: dict[str, int] = {}
    for trial in study.get_trials():
        tally[trial.state.name] = tally.get(trial.state.name, 0) + 1
    return tally


def start(home: Path, *args: str) -> subprocess.Popen:
    """`engine optimize ARGS` in the background."""
    env = {**os.environ, "ENGINE_HOME": str(home), "COLUMNS": "200"}
    return subprocess.Popen([*ENGINE, "optimize", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_when(process: subprocess.Popen, condition, timeout: float = 120.0) -> None:
    """SIGKILL `process` at a moment `condition` holds: once it is seen to hold, the process is frozen
    (SIGSTOP) and it is read again, so what was read is what the kill leaves, however loaded the
    machine (a kill sent after a plain check could land a trial later). The condition must read
    without waiting on a lock the frozen process may hold (frozen_tally)."""
    deadline = time.monotonic() + timeout
    while True:
        wait_for(condition, max(deadline - time.monotonic(), 0.0))
        process.send_signal(signal.SIGSTOP)
        if condition():
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=60)
            return
        process.send_signal(signal.SIGCONT)


def frozen_tally(home: Path, name: str) -> Counter[str]:
    """The study's trials by state, and `RUNNING claimed` for the running ones that record their worker,
    read straight from its SQLite file, read-only and never waiting (empty when it is busy or not made
    yet): what can be read while a worker is frozen holding a lock."""
    uri = f"file:{home / 'runs' / 'studies.sqlite3'}?mode=ro"
    query = (
        "SELECT t.state, EXISTS (SELECT 1 FROM trial_user_attributes a WHERE a.trial_id = t.trial_id AND a.key = 'worker')"
        " FROM trials t JOIN studies s ON s.study_id = t.study_id WHERE s.study_name = ?"
    )
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=0)) as db:
            rows = db.execute(query, (name,)).fetchall()
    except sqlite3.OperationalError:  # locked, or no such file or table yet
        return Counter()
    tally = Counter(state for state, _ in rows)
    tally["RUNNING claimed"] = sum(1 for state, claimed in rows if state == "RUNNING" and claimed)
    return tally


def trials_of(home: Path, name: str, state: optuna.trial.TrialState) -> list[optuna.trial.FrozenTrial]:
    if not (home / "runs" / "studies.sqlite3").exists():
        return []
    try:
        return load(home, name).get_trials(states=(state,))
    except KeyError:  # not created yet
        return []


def trials_in(home: Path, name: str, state: optuna.trial.TrialState) -> list[int]:
    return [trial.number for trial in trials_of(home, name, state)]
