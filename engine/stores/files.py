"""Writing a file or a folder whole or not at all, and clearing what a killed writer left.

A temporary is a hidden sibling of its target named with the writer's pid and host:
`.<target>.<pid>@<host>.<token><suffix>`. A process killed while writing (SIGKILL, power loss)
leaves its temporary behind; the next write into the same folder removes the temporaries whose
process on this host is gone. A live writer's, or another host's, are never touched.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from engine.stores.processes import is_alive

HOST = socket.gethostname()
_TEMPORARY = re.compile(rf"^\..+\.(?P<pid>\d+)@{re.escape(HOST)}\.[0-9a-f]{{8}}(\.\w+)+$")


def temporary_sibling(path: Path, suffix: str = ".tmp") -> Path:
    """A name beside `path` for a temporary this process writes (a file or a folder)."""
    return path.with_name(f".{path.name}.{os.getpid()}@{HOST}.{secrets.token_hex(4)}{suffix}")


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporaries in `folder` whose writer on this host is no longer running."""
    with suppress(FileNotFoundError):
        for entry in folder.iterdir():
            match = _TEMPORARY.match(entry.name)
            if match is None or is_alive(int(match["pid"])):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call write(tmp_path), then rename over `path`; on any error the old file is untouched.

    The file is created by `write`, so its mode follows the user's umask like any other file's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = temporary_sibling(path)
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
