"""The run store: every run (a backtest, a study, a paper session) leaves `runs/<id>/`, journaled as it goes.

    status.json      kind, strategy, status (running, finished, failed, interrupted), progress,
                     the process that runs it, and the error that ended it; rewritten as it changes
    config.json      the resolved configuration (a backtest's: strategy, chunk size, broker, annualization)
    metrics.json     {"strategy": {...}, "baselines": {"buy & hold": {...}, …}, "warnings": [...]}
    folds.json, ablation.json, calibration.json, signal_quality.json, equity.parquet, baselines.parquet,
    trades.parquet, orders.parquet, prices.parquet, signal_quality.parquet   what the run found (see the
                     README's "Run store")
    manifest.json    run id, time, command, data fingerprint and origins, library versions
    report/          the tearsheet, written after the run (engine.report)

A run's folder exists from its start, so another process (`engine runs list`, the TUI) can watch
it. Its results are written (each file whole, through a temporary file) before its status turns
finished, so a run that is not finished is never read as if it were. A run whose process died
without saying so (SIGKILL, power loss) is found by its process id and marked failed. A run whose
files were damaged since (engine.stores.run_files) is listed as damaged and refused by name, never a
traceback, and never hides the other runs.

The store takes plain records (dicts and frames): it knows nothing of backtests.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path

import pandas as pd

from engine.errors import UserError
from engine.stores.files import atomic_write
from engine.stores.processes import gone
from engine.stores.run_files import DamagedRun, check_results, read_columns, read_document, read_table
from engine.stores.wide_table import WideTable

LIBRARIES = (
    "engine",
    "numpy",
    "pandas",
    "pyarrow",
    "vectorbt",
    "numba",
    "arch",
    "torch",
    "scikit-learn",
    "pydantic",
    "typer",
    "rich",
    "pluggy",
    "optuna",
    "matplotlib",
    "jinja2",
)
KINDS = ("backtest", "study", "paper")
STATUSES = ("running", "finished", "failed", "interrupted")
PROGRESS_INTERVAL = 0.5  # seconds between progress writes: often enough to watch, cheap at chunk size 1
ID_TIME = "%Y%m%d-%H%M%S"  # a run id starts with its UTC creation second
ID_TIME_LENGTH = len("20250101-000000")


class RunNotFound(UserError, LookupError):
    pass


class RunInUse(UserError):
    """A run that is still running cannot be removed."""


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class RunRecords:
    """What a run leaves: JSON documents and tables by file name (`metrics.json`, `equity.parquet`)."""

    documents: dict[str, dict] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame | WideTable] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    path: Path
    kind: str | None  # None: a damaged run whose status is unreadable
    status: str  # one of STATUSES, or "damaged"
    created_at: str | None
    strategy: str | None
    total_return: float | None = None
    sharpe: float | None = None
    max_drawdown: float | None = None
    trades: int | None = None
    symbols: tuple[str, ...] = ()
    period: tuple[str, str] | None = None  # first and last bar traded
    problem: str | None = None  # what is wrong with a damaged run, or why a failed one failed

    def to_json(self) -> dict:
        return {
            "id": self.run_id,
            "strategy": self.strategy,
            "kind": self.kind,
            "status": self.status,
            "created": self.created_at,
            "total_return": self.total_return,
            "sharpe": self.sharpe,
            "max_drawdown": self.max_drawdown,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class StoredRun:
    """A finished run's files, read on first use (engine.stores.run_files: a damaged file raises DamagedRun);
    optional files (folds, ablation, …) read as None."""

    run_id: str
    path: Path
    kind: str = "backtest"

    def _optional(self, name: str, key: str) -> list[dict] | None:
        document = read_document(self.path, name, required=False, keys=(key,))
        return None if document is None else document[key]

    @cached_property
    def config(self) -> dict:
        return read_document(self.path, "config.json")

    @cached_property
    def manifest(self) -> dict:
        return read_document(self.path, "manifest.json")

    @cached_property
    def metrics(self) -> dict:
        return read_document(self.path, "metrics.json")

    @cached_property
    def study(self) -> dict:
        """A study run's record: the study's name, storage and trial counts."""
        return read_document(self.path, "study.json")

    @cached_property
    def folds(self) -> list[dict] | None:
        return self._optional("folds.json", "folds")

    @cached_property
    def ablation(self) -> list[dict] | None:
        return self._optional("ablation.json", "steps")

    @cached_property
    def calibration(self) -> list[dict] | None:
        return self._optional("calibration.json", "thresholds")

    @cached_property
    def risk(self) -> dict | None:
        """What the risk gate did (engine.kernel.risk.risk_record); None where it had no limit to
        watch and did nothing, and for runs stored before it."""
        return read_document(self.path, "risk.json", required=False)

    @cached_property
    def equity(self) -> pd.DataFrame:
        return read_table(self.path, "equity.parquet")

    @cached_property
    def trades(self) -> pd.DataFrame:
        return read_table(self.path, "trades.parquet")

    @cached_property
    def baselines(self) -> pd.DataFrame | None:
        return read_table(self.path, "baselines.parquet", required=False)

    @cached_property
    def orders(self) -> pd.DataFrame:
        return read_table(self.path, "orders.parquet")

    @cached_property
    def price_symbols(self) -> list[str] | None:
        """The symbols whose closes are stored; None for runs stored before they were kept."""
        names = read_columns(self.path, "prices.parquet", required=False)
        return None if names is None else [name for name in names if name != "timestamp"]

    def prices(self, symbols: list[str]) -> pd.DataFrame:
        """The timestamp and these symbols' closes per bar (only the columns asked for are read)."""
        return read_table(self.path, "prices.parquet", columns=["timestamp", *symbols])

    @cached_property
    def signal_quality(self) -> dict | None:
        """The signal's IC, how it was measured and its figures (engine.analytics.signal_quality);
        None for runs stored before it was kept."""
        return read_document(self.path, "signal_quality.json", required=False, keys=("basis", "overall"))

    @cached_property
    def ics(self) -> pd.DataFrame | None:
        """The signal's IC and RankIC per bar (or per symbol and window); None for runs stored before it."""
        return read_table(self.path, "signal_quality.parquet", required=False)


class RunJournal:
    """One run's status as it goes. Use as a context manager: an exception marks the run failed
    (a KeyboardInterrupt: interrupted) and goes on; leaving without `finish` marks it failed."""

    def __init__(self, path: Path, status: dict) -> None:
        self.path = path
        self.run_id = path.name
        self._status = status
        self._last_progress = 0.0
        self._write_status()

    def _write_status(self) -> None:
        self._status["updated_at"] = now()
        _write_json(self.path / "status.json", self._status)

    def progress(self, done: int, total: int, force: bool = False) -> None:
        """How far the run has come (bars, trials…); written at most every PROGRESS_INTERVAL seconds."""
        self._status["progress"] = {"done": done, "total": total}
        if force or time.monotonic() - self._last_progress >= PROGRESS_INTERVAL or done >= total:
            self._last_progress = time.monotonic()
            self._write_status()

    def write(self, records: RunRecords) -> None:
        """Results so far, each file whole; a reader trusts them once the status is finished."""
        for name, document in records.documents.items():
            _write_json(self.path / name, document)
        for name, frame in records.frames.items():
            atomic_write(self.path / name, lambda tmp, frame=frame: _write_table(frame, tmp))

    def finish(self, records: RunRecords) -> None:
        """Write the results, then mark the run finished."""
        self.write(records)
        self._end("finished")

    def fail(self, error: str) -> None:
        self._end("failed", error=error)

    def interrupt(self) -> None:
        self._end("interrupted")

    def _end(self, status: str, **fields) -> None:
        self._status.update(status=status, ended_at=now(), **fields)
        self._write_status()

    @property
    def status(self) -> str:
        return self._status["status"]

    def __enter__(self) -> RunJournal:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if self.status != "running":
            return
        if kind is None:
            self.fail("the run ended without results")
        elif issubclass(kind, KeyboardInterrupt):
            self.interrupt()
        else:
            self.fail(f"{kind.__name__}: {error}")


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def new_id(self, name: str) -> str:
        stamp = datetime.now(UTC).strftime(ID_TIME)
        return f"{stamp}-{name}-{secrets.token_hex(3)}"

    def open(self, kind: str, strategy: str, command: list[str]) -> RunJournal:
        """Start a run: its folder and a running status, visible to other processes from now on."""
        if kind not in KINDS:
            raise ValueError(f"unknown run kind {kind!r}: use {', '.join(KINDS)}")
        path = self.root / self.new_id(strategy)
        path.mkdir(parents=True)
        status = {
            "run_id": path.name,
            "kind": kind,
            "strategy": strategy,
            "status": "running",
            "created_at": now(),
            "command": command,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "progress": None,
        }
        return RunJournal(path, status)

    def reopen(self, run_id: str, command: list[str]) -> RunJournal:
        """Run a run that has ended again in its own folder (a paper session resumed): running, by this process."""
        status = self.status(run_id)
        if status["status"] == "running":
            raise RunInUse(f"run {run_id} is running (pid {status.get('pid')} on {status.get('host')})")
        for ended in ("ended_at", "error"):
            status.pop(ended, None)
        status.update(status="running", pid=os.getpid(), host=socket.gethostname(), resumed_at=now(), command=command)
        return RunJournal(self.root / run_id, status)

    def status(self, run_id: str) -> dict:
        """A run's status; a running run whose process on this machine has gone is marked failed."""
        path = self.root / run_id
        status_file = path / "status.json"
        if not status_file.exists():
            # A run stored before the journal existed was written whole, so it is finished.
            manifest = read_document(path, "manifest.json", keys=("strategy", "created_at"))
            return {
                "run_id": run_id,
                "kind": "backtest",
                "strategy": manifest["strategy"],
                "status": "finished",
                "created_at": manifest["created_at"],
            }
        status = read_document(path, "status.json", keys=("kind", "strategy", "status", "created_at"))
        if status["status"] == "running" and gone(status.get("host"), status["pid"]):
            status.update(status="failed", ended_at=now(), error=f"its process ({status['pid']}) ended without finishing the run")
            _write_json(status_file, status)
        return status

    def ids(self) -> list[str]:
        """Every run's id, oldest first: by the UTC second its id starts with, then by creation time
        within that second (to the microsecond; a damaged run's is unknown and comes first)."""
        if not self.root.exists():
            return []
        run_ids = [path.name for path in self.root.iterdir() if _is_run(path)]
        return sorted(run_ids, key=lambda run_id: (run_id[:ID_TIME_LENGTH], self._created_at(run_id), run_id))

    def _kind(self, run_id: str) -> str | None:
        try:
            return self.status(run_id)["kind"]
        except DamagedRun:
            return None

    def _created_at(self, run_id: str) -> str:
        try:
            return self.status(run_id)["created_at"]
        except DamagedRun:
            return ""

    def resolve(self, reference: str, kind: str | None = None) -> str:
        """The id a user means: an id, a prefix of exactly one id, or `latest` (the newest run, of
        `kind` when given: `engine report latest` means the newest backtest, not a study after it)."""
        ids = self.ids()
        if reference == "latest":
            if kind is not None:
                ids = [run_id for run_id in ids if self._kind(run_id) == kind]
            if not ids:
                raise RunNotFound(f"no {kind or ''} runs in {self.root}".replace("  ", " "))
            return ids[-1]
        if reference in ids:
            return reference
        matches = [run_id for run_id in ids if run_id.startswith(reference)] if reference else []
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise RunNotFound(f"run {reference!r} is ambiguous: {', '.join(matches[:5])}{' …' if len(matches) > 5 else ''}")
        raise RunNotFound(f"no run {reference!r} in {self.root}")

    def path(self, reference: str) -> Path:
        return self.root / self.resolve(reference)

    def remove(self, reference: str) -> str:
        """Delete a run that is not running; returns its id. Renamed out of sight first, so that no
        half-deleted run is ever listed."""
        run_id = self.resolve(reference)
        try:
            status = self.status(run_id)
        except DamagedRun:  # a damaged run is not running: it can go
            status = {"status": "damaged"}
        if status["status"] == "running":
            raise RunInUse(f"run {run_id} is running (pid {status.get('pid')} on {status.get('host')}): stop it first")
        doomed = self.root / f".removing-{run_id}"
        (self.root / run_id).rename(doomed)
        shutil.rmtree(doomed)
        return run_id

    def load(self, reference: str, kind: str | None = None) -> StoredRun:
        """A finished run, its results checked whole (engine.stores.run_files.RESULTS); a run that is
        running, failed or interrupted has no results to read. `kind`: what `latest` means (see `resolve`)."""
        path = self.root / self.resolve(reference, kind)
        status = self.status(path.name)
        if status["status"] != "finished":
            raise RunNotFound(f"run {path.name} is {status['status']}: it has no results to read")
        check_results(path, status["kind"])
        return StoredRun(path.name, path, status["kind"])

    def list(self) -> list[RunSummary]:
        return [self.summary(run_id) for run_id in self.ids()]

    def summary(self, run_id: str) -> RunSummary:
        """A run's line in the listing: a damaged one says what is wrong instead of failing the listing."""
        path = self.root / run_id
        status: dict = {}
        try:
            status = self.status(run_id)
            documents = check_results(path, status["kind"]) if status["status"] == "finished" else {}
        except DamagedRun as damage:
            known = {key: status.get(key) for key in ("kind", "created_at", "strategy")}  # none if the status is damaged
            return RunSummary(run_id, path, status="damaged", problem=damage.problem, **known)
        metrics = documents.get("metrics.json", {}).get("strategy", {})
        data = documents.get("config.json", {}).get("strategy", {}).get("data", {})
        return RunSummary(
            run_id=run_id,
            path=path,
            kind=status["kind"],
            status=status["status"],
            created_at=status["created_at"],
            strategy=status["strategy"],
            total_return=metrics.get("total_return"),
            sharpe=metrics.get("sharpe"),
            max_drawdown=metrics.get("max_drawdown"),
            trades=metrics.get("trades"),
            symbols=tuple(data.get("symbols") or ()),
            period=(metrics["start"], metrics["end"]) if "start" in metrics and "end" in metrics else None,
            problem=status.get("error") if status["status"] == "failed" else None,
        )


def _is_run(path: Path) -> bool:
    return not path.name.startswith(".") and ((path / "status.json").exists() or (path / "manifest.json").exists())


def _write_table(frame: pd.DataFrame | WideTable, path: str) -> None:
    if isinstance(frame, WideTable):
        frame.write_parquet(path)
    else:
        frame.to_parquet(path, index=False)


def _write_json(path: Path, payload: dict) -> None:
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
