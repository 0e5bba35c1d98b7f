"""Reading the studies `engine optimize` processes write, while they run: each read opens the
storage as the engine does (so a read never races a worker creating a fresh storage)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import optuna
from test_cli import ENGINE

from engine.optimize.study import open_storage


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


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the study")
        time.sleep(0.1)


def trials_of(home: Path, name: str, state: optuna.trial.TrialState) -> list[optuna.trial.FrozenTrial]:
    if not (home / "runs" / "studies.sqlite3").exists():
        return []
    try:
        return load(home, name).get_trials(states=(state,))
    except KeyError:  # not created yet
        return []


def trials_in(home: Path, name: str, state: optuna.trial.TrialState) -> list[int]:
    return [trial.number for trial in trials_of(home, name, state)]
