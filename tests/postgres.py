"""A throwaway PostgreSQL server (Debian's package) on loopback, for studies shared by workers."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import free_port


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make system-deps` (Debian's postgresql package)")
    return Path(found[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; as root, run it as the package's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """A running server's SQLAlchemy URL, and its stop (a test stops it to see what a reader does then)."""

    def __init__(self, url: str, stop: Callable[[], None]) -> None:
        self.url, self._stop, self.stopped = url, stop, False

    def stop(self) -> None:
        if not self.stopped:
            self._stop()
            self.stopped = True


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of an empty database; the server stops and its files go afterwards."""
    with running_postgres() as server:
        yield server.url


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A server with an empty database, which the test may stop; its files go afterwards."""
    binaries, port = _binaries(), free_port()
    # Not under pytest's tmp_path: the server's user must be able to reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="engine-postgres-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    run = lambda *command: subprocess.run(_as_server_user(list(command)), check=True, capture_output=True, text=True)  # noqa: E731
    run(str(binaries / "initdb"), "-D", str(data), "--auth=trust", "--username=engine", "--encoding=UTF8")
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start")
    server = PostgresServer(
        f"postgresql+psycopg://engine@127.0.0.1:{port}/studies",
        lambda: run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"),
    )
    try:
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "engine", "studies")
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
