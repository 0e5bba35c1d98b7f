"""`engine sandbox` in this process, on loopback, for tests that talk to it with the real alpaca-py clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.sandbox.app import SandboxOptions, sandbox_app
from engine.sandbox.server import serving_in_thread
from engine.workspace import Workspace

KEY, SECRET = "sandbox-key", "sandbox-secret"


@contextmanager
def sandbox_server(home: Path, **options) -> Iterator[str]:
    """Yields the base URL (what alpaca-py's `url_override` takes) of a sandbox serving the workspace at
    `home`, with `SandboxOptions` (a small `page_size` makes a little data span several pages). Stopped afterwards."""
    with serving_in_thread(sandbox_app(Workspace(home), SandboxOptions(**options))) as url:
        yield url
