"""A paper session: the backtested pipeline, its stage objects and execution conventions, fed live
one bar at a time (DESIGN §11).

Built so far: the dry run (`engine paper --broker sim`). The strategy is prepared on its stored
history exactly as a backtest prepares it (a model's folds trained or reused, thresholds
calibrated), warms up on that history, then trades each bar the Alpaca live feed
(engine.feeds.alpaca) pushes as it closes, filled by the sim broker at the next bar's open. The
session is a run of the run store (kind `paper`), running with its progress in live bars while it
trades, and after each live bar its state in `live.json` (the bar, equity, cash, positions, fills so
far) for `engine paper status` in another terminal. Stored at the end as a backtest is (metrics
beside buy-and-hold over the same live bars, equity, trades, orders). It ends after `max_bars` live
bars, at Ctrl-C, or when `engine paper stop` leaves `stop.json` in its folder, after the bar it is on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine import progress
from engine.alpaca.connection import AlpacaConnection
from engine.backtest import BacktestResult, judged, prepare, traded_part
from engine.backtest_records import backtest_records
from engine.bars import Bars
from engine.errors import UserError
from engine.execution.broker import SimBroker
from engine.execution.conventions import ExecutionRules
from engine.feeds.alpaca import AlpacaFeed, LiveSettings
from engine.files import atomic_write
from engine.pipeline import Pipeline
from engine.resolution import ResolvedStrategy
from engine.run_files import read_document
from engine.runstore import RunRecords, RunStore, now
from engine.topics import FILLS
from engine.workspace import Workspace

BROKERS = ("sim",)
LIVE, STOP = "live.json", "stop.json"
STOP_CHECK_SECONDS = 0.5


class PaperError(UserError):
    """A session that cannot start or store anything."""


class PaperSession:
    def __init__(
        self,
        resolved: ResolvedStrategy,
        workspace: Workspace,
        connection: AlpacaConnection,
        settings: LiveSettings,
        command: list[str],
    ) -> None:
        self.resolved, self.workspace, self.command = resolved, workspace, command
        self.prepared = prepare(resolved, workspace)
        data = resolved.strategy.data
        self.feed = AlpacaFeed(workspace.data, connection, tuple(data.symbols), data.timeframe, self.prepared.bars, settings)

    def stop(self) -> None:
        """End the session after the bar it is on (from a signal handler or another thread)."""
        self.feed.stop()

    def run(self, on_bar: Callable[[Bars], None] | None = None) -> tuple[BacktestResult, str]:
        """Trade until the feed ends; returns the session's result and its run id."""
        prepared, strategy = self.prepared, self.resolved.strategy
        history = prepared.bars
        rules = ExecutionRules.from_strategy(strategy)
        # Every bar after the history may trade; the history only warms the stages up.
        first_live = history.timestamps[-1] + np.timedelta64(1, "ns")
        pipeline = Pipeline(prepared.stages(), SimBroker(rules), history.symbols, rules.initial_cash, first_live, strategy.name)
        live: list[Bars] = []
        fills = 0

        def count(filled) -> None:
            nonlocal fills
            fills += len(filled)

        pipeline.bus.subscribe(FILLS, count)
        limit = self.feed.settings.max_bars or 0
        with self.workspace.runs.open("paper", strategy.name, self.command) as journal:
            journal.progress(0, limit, force=True)

            def push(bars: Bars) -> None:
                pipeline.push(bars)
                if bars is not history:
                    live.append(bars)
                    journal.write(RunRecords({LIVE: _state(pipeline, bars, len(live), fills)}))
                    journal.progress(len(live), limit)
                    if on_bar is not None:
                        on_bar(bars)

            ended = threading.Event()
            watcher = threading.Thread(target=self._watch_for_stop, args=(journal.path / STOP, ended), daemon=True)
            watcher.start()
            try:
                self.feed.run(push)
            finally:
                ended.set()
            run = pipeline.close()
            if not live:
                raise PaperError(f"the session of {strategy.name} ended before a live bar closed: nothing to store")
            progress.stage("storing the session")
            session = replace(prepared, bars=Bars.concat([history, *live]), trade_from=len(history))
            result = judged(session, traded_part(run, len(history)), chunk_size=1, broker="sim")
            journal.finish(backtest_records(result, self.workspace.data, journal.run_id, self.command))
        return result, journal.run_id

    def _watch_for_stop(self, request: Path, ended: threading.Event) -> None:
        while not ended.wait(STOP_CHECK_SECONDS):
            if request.exists():
                self.stop()
                return


def _state(pipeline: Pipeline, bars: Bars, live_bars: int, fills: int) -> dict:
    """The session after a live bar, marked at its close."""
    ledger = pipeline.ledger
    return {
        "bar": str(bars.index()[-1]),
        "live_bars": live_bars,
        "equity": float(ledger.cash + ledger.positions @ bars.close[-1]),
        "cash": float(ledger.cash),
        "positions": {symbol: float(shares) for symbol, shares in zip(ledger.symbols, ledger.positions, strict=True)},
        "fills": fills,
        "updated_at": now(),
    }


def paper_run(runs: RunStore, reference: str) -> tuple[str, dict]:
    """A paper session's id and status, by a run reference (`latest`: the newest paper session)."""
    if reference == "latest":
        sessions = [summary.run_id for summary in runs.list() if summary.kind == "paper"]
        if not sessions:
            raise PaperError(f"no paper session in {runs.root}")
        reference = sessions[-1]
    run_id = runs.resolve(reference)
    status = runs.status(run_id)
    if status["kind"] != "paper":
        raise PaperError(f"run {run_id} is a {status['kind']}, not a paper session")
    return run_id, status


def live_state(runs: RunStore, run_id: str) -> dict | None:
    """What the session wrote after its last live bar; None before its first."""
    return read_document(runs.path(run_id), LIVE, required=False)


def request_stop(runs: RunStore, reference: str) -> str:
    """Ask a running session to end after the bar it is on; returns its id."""
    run_id, status = paper_run(runs, reference)
    if status["status"] != "running":
        raise PaperError(f"session {run_id} is {status['status']}, not running")
    text = json.dumps({"requested_at": now()}) + "\n"
    atomic_write(runs.path(run_id) / STOP, lambda tmp: Path(tmp).write_text(text))
    return run_id
