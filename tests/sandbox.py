"""`engine sandbox` in this process, on loopback, for tests that talk to it with the real alpaca-py clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.sandbox.app import create_app
from engine.sandbox.market_data import MAX_BARS_PAGE, MarketData
from engine.sandbox.server import serving_in_thread
from engine.workspace import Workspace

KEY, SECRET = "sandbox-key", "sandbox-secret"


@contextmanager
def sandbox_server(home: Path, page_size: int = MAX_BARS_PAGE) -> Iterator[str]:
    """Yields the base URL (what alpaca-py's `url_override` takes) of a sandbox serving the workspace at
    `home`; `page_size` caps every page, so a little data spans several. Stopped afterwards."""
    workspace = Workspace(home)
    app = create_app(MarketData(workspace.data, workspace.news, page_size))
    with serving_in_thread(app) as url:
        yield url
