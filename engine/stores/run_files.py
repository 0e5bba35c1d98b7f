"""Reading a stored run's files: the one place where a missing, empty or unreadable file becomes an
error naming the run and the file (DamagedRun), so a damaged run is reported, never a traceback.

A finished run of each kind holds the files of RESULTS; other files (folds.json, prices.parquet, …)
are optional and read as None when absent, but one that is present and unreadable is damage too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from engine.errors import UserError

# The files a finished run of each kind holds, with the keys each JSON document must have.
RESULTS: dict[str, dict[str, tuple[str, ...]]] = {
    "backtest": {
        "config.json": ("strategy", "execution"),
        "manifest.json": ("strategy", "data"),
        "metrics.json": ("strategy", "baselines"),
        "equity.parquet": (),
        "trades.parquet": (),
    },
    "study": {"study.json": ("study", "storage")},
}
RESULTS["paper"] = RESULTS["backtest"]  # a session is stored as a backtest of its live bars


class DamagedRun(UserError):
    """A stored run's file is missing or unreadable."""

    def __init__(self, run: Path, problem: str) -> None:
        super().__init__(f"run {run.name}: {problem}")
        self.run_id, self.problem = run.name, problem


def read_document(run: Path, name: str, required: bool = True, keys: tuple[str, ...] = ()) -> dict | None:
    """A JSON object of the run's; None if it is optional and absent."""
    try:
        text = (run / name).read_text()
    except FileNotFoundError:
        if required:
            raise DamagedRun(run, f"{name} is missing") from None
        return None
    except OSError as error:
        raise DamagedRun(run, f"{name} cannot be read ({error.strerror})") from None
    if not text.strip():
        raise DamagedRun(run, f"{name} is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DamagedRun(run, f"{name} is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise DamagedRun(run, f"{name} is not a JSON object")
    for key in keys:
        if key not in document:
            raise DamagedRun(run, f"{name} has no {key!r}")
    return document


def read_table(run: Path, name: str, required: bool = True, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A Parquet table of the run's (only `columns`, when named); None if it is optional and absent."""
    return _parquet(run, name, required, lambda path: pd.read_parquet(path, columns=columns))


def read_columns(run: Path, name: str, required: bool = True) -> list[str] | None:
    """The column names of a Parquet table of the run's, from its footer; None if it is optional and absent."""
    return _parquet(run, name, required, lambda path: pq.read_schema(path).names)


def check_results(run: Path, kind: str) -> dict[str, dict]:
    """That a finished run holds its kind's RESULTS, whole: its JSON documents (returned by name) are
    read, its tables' Parquet footers (which a truncated file lacks) too."""
    documents = {}
    for name, keys in RESULTS.get(kind, {}).items():
        if name.endswith(".json"):
            documents[name] = read_document(run, name, keys=keys)
        else:
            _parquet(run, name, True, pq.read_metadata)
    return documents


def _parquet(run: Path, name: str, required: bool, read: Callable[[Path], Any]) -> Any:
    path = run / name
    if not path.exists():
        if required:
            raise DamagedRun(run, f"{name} is missing")
        return None
    try:
        return read(path)
    except (OSError, ValueError, pyarrow.ArrowException) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DamagedRun(run, f"{name} is not a readable Parquet file ({reason})") from None
