"""Whether the process behind a record (a temporary file, a run's status, a study's trial) has gone.

Only a process on this machine can be looked up; one elsewhere is taken to be alive (its record
goes stale by other means, such as a study's heartbeats).
"""

from __future__ import annotations

import os
import socket


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def gone(host: str | None, pid: int) -> bool:
    """True when the process `pid` ran on this machine (`host`) and no longer exists."""
    return host == socket.gethostname() and not is_alive(pid)
