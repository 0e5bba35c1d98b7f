"""Where studies are kept: an Optuna RDB storage, by default a SQLite file in the run store; any
Optuna RDB URL works, and a PostgreSQL URL lets workers on many machines share one study. Opened,
listed and failed in one line each here, without the strategy and backtesting stack (`engine
optimize list` and `engine tui --storage`'s check need the storage and nothing else).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
import sqlalchemy
from optuna.trial import TrialState
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random

from engine.optimize.errors import OptimizeError
from engine.workspace import Workspace

STORAGE_FILE = "studies.sqlite3"  # in the run store
DONE = (TrialState.COMPLETE, TrialState.PRUNED)
DEFAULT_HEARTBEAT = 10  # seconds between a worker's heartbeats

optuna.logging.set_verbosity(optuna.logging.ERROR)  # the engine reports failed trials, one line each (engine optimize)


def default_storage(workspace: Workspace) -> str:
    return f"sqlite:///{(workspace.runs.root / STORAGE_FILE).resolve()}"


def safe_url(url: str) -> str:
    """The storage URL as it may be shown: without its password."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "(an invalid storage URL)"


def open_storage(url: str, heartbeat: int) -> optuna.storages.RDBStorage:
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise OptimizeError("--storage: not a database URL (expected e.g. sqlite:///path/studies.db or postgresql://…)") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise OptimizeError("--storage: an in-memory SQLite database cannot hold a study; give a file")
        folder = Path(parsed.database).parent
        if not folder.is_dir():  # a mistyped path would make folders and a database where nobody looks
            raise OptimizeError(f"cannot open the study storage {safe_url(url)}: the folder {folder} does not exist")
    # SQLite waits for the other workers' writes; PostgreSQL gives up on an unreachable host in 10 s.
    connect = {"timeout": 60} if parsed.get_backend_name() == "sqlite" else {"connect_timeout": 10}
    if parsed.get_backend_name() == "sqlite" and not sqlalchemy.event.contains(sqlalchemy.engine.Engine, "connect", _sqlite_wal):
        # Write-ahead logging: workers read while one writes, and a commit needs no fsync of the
        # whole database (a trial makes about twenty small commits). Optuna creates the engine
        # and connects at once, so the hook is on every engine; it skips other databases.
        sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", _sqlite_wal)
    try:
        for attempt in Retrying(
            retry=retry_if_exception(_creating_elsewhere), stop=stop_after_attempt(5), wait=wait_random(0.05, 0.5), reraise=True
        ):
            with attempt, warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are stable in use
                return optuna.storages.RDBStorage(
                    url, engine_kwargs={"connect_args": connect}, heartbeat_interval=heartbeat, grace_period=3 * heartbeat
                )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as error:
        raise storage_failure("open", url, error) from None


def workspace_storage(url: str | None, workspace: Workspace, heartbeat: int) -> optuna.storages.RDBStorage:
    """The storage a command names, or else the run store's SQLite file; only the run store's own
    folder is made if missing (a named one must exist: see `open_storage`)."""
    if url is None:
        try:
            workspace.runs.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OptimizeError(f"cannot make the run store {workspace.runs.root}: {error.strerror}") from None
    return open_storage(url or default_storage(workspace), heartbeat)


STORAGE_ERRORS = (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError)  # a database that went away


def storage_failure(doing: str, url: str, error: BaseException) -> OptimizeError:
    """One line for a storage that failed (`doing`: open, read): the database's own first line of
    the reason (Optuna wraps SQLAlchemy's errors, which wrap the driver's), without the password."""
    cause = error.__cause__ if isinstance(error, optuna.exceptions.StorageInternalError) and error.__cause__ else error
    reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
    password = sqlalchemy.engine.make_url(url).password
    if password:
        reason = reason.replace(password, "***")
    return OptimizeError(f"cannot {doing} the study storage {safe_url(url)}: {reason}")


def _creating_elsewhere(error: BaseException) -> bool:
    """Whether opening a fresh storage failed because another process (a second worker, the TUI) was
    creating its tables at that moment: Optuna checks for each table and then creates it, so the
    slower opener finds it made ("already exists", a duplicate key) or locked. Tried again, it
    finds the finished schema."""
    reason = str(getattr(error, "orig", None) or error)
    return isinstance(error, sqlalchemy.exc.IntegrityError) or any(
        sign in reason for sign in ("already exists", "database is locked")
    )


def _sqlite_wal(connection, _record) -> None:
    if type(connection).__module__.startswith("sqlite3"):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def list_studies(storage_url: str | None, workspace: Workspace) -> list[dict]:
    """Every study in the storage: name, strategy, objectives, trials finished and in all, when it began."""
    return summarize_studies(workspace_storage(storage_url, workspace, DEFAULT_HEARTBEAT))


def summarize_studies(storage: optuna.storages.BaseStorage) -> list[dict]:
    """`list_studies` on a storage already open (the TUI reads it every few seconds)."""
    return [
        {
            "study": summary.study_name,
            "strategy": summary.user_attrs.get("strategy"),
            "objectives": summary.user_attrs.get("objectives", []),
            "space_file": summary.user_attrs.get("space_file"),
            "finished": len(optuna.load_study(study_name=summary.study_name, storage=storage).get_trials(states=DONE)),
            "trials": summary.n_trials,
            "started": summary.datetime_start.isoformat(timespec="seconds") if summary.datetime_start else None,
        }
        for summary in optuna.get_all_study_summaries(storage, include_best_trial=False)
    ]
