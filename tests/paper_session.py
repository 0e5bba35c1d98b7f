"""A paper session with the Alpaca broker run in this process against a stepped sandbox, bar by bar."""

from __future__ import annotations

import threading
from pathlib import Path

from engine.alpaca.connection import AlpacaConnection
from engine.feeds.alpaca import LiveSettings
from engine.kernel.risk import parse_kill_switch
from engine.stores.releases import Release
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy
from engine.usecases.paper import PaperSession
from engine.usecases.release import traded_strategy
from engine.workspace import Workspace
from tests.sandbox import advance


def stepped_session(
    workspace: Workspace,
    url: str,
    path: Path | None,
    bars: int,
    kill_switch: str = "",
    before_bar=lambda bar: None,
    broker="alpaca",
    release: Release | None = None,
):
    """A session in this process (its broker `alpaca` or `sim`, under the `--kill-switch` SPEC's
    limits) of the strategy file at `path` or of `release`, trading `bars` live bars, each released
    once the last is done (and `before_bar(its number)` has run)."""
    risk = parse_kill_switch(kill_switch)
    if release is None:
        resolved = resolve_strategy(load_strategy(str(path)).with_overrides(risk=risk))
    else:
        resolved = traded_strategy(release, workspace, risk)
    session = PaperSession(resolved, workspace, AlpacaConnection.from_env(), LiveSettings(poll=0.2, max_bars=bars), [], broker,
                           release=release)  # fmt: skip
    done, outcome = threading.Semaphore(0), {}

    def trade() -> None:
        try:
            outcome["result"], outcome["run_id"] = session.run(on_bar=lambda _: done.release())
        finally:
            done.release()

    runner = threading.Thread(target=trade)
    runner.start()
    for bar in range(bars):
        before_bar(bar)
        advance(url)
        assert done.acquire(timeout=60)
    runner.join(60)
    assert "result" in outcome
    return outcome["result"], outcome["run_id"]
