"""A paper session: the backtested pipeline, its stage objects and execution conventions, fed live
one bar at a time (DESIGN §11).

Built so far: the dry run (`engine paper --broker sim`). The strategy is prepared on its stored
history exactly as a backtest prepares it (a model's folds trained or reused, thresholds
calibrated), warms up on that history, then trades each bar the Alpaca live feed
(engine.feeds.alpaca) pushes as it closes, filled by the sim broker at the next bar's open. The
session is a run of the run store (kind `paper`), running with its progress in live bars while it
trades, then stored as a backtest is (metrics beside buy-and-hold over the same live bars, equity,
trades, orders). It ends after `max_bars` live bars, or at `stop` (Ctrl-C), after the bar it is on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

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
from engine.pipeline import Pipeline
from engine.resolution import ResolvedStrategy
from engine.workspace import Workspace

BROKERS = ("sim",)


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
        limit = self.feed.settings.max_bars or 0
        with self.workspace.runs.open("paper", strategy.name, self.command) as journal:
            journal.progress(0, limit, force=True)

            def push(bars: Bars) -> None:
                pipeline.push(bars)
                if bars is not history:
                    live.append(bars)
                    journal.progress(len(live), limit)
                    if on_bar is not None:
                        on_bar(bars)

            self.feed.run(push)
            run = pipeline.close()
            if not live:
                raise PaperError(f"the session of {strategy.name} ended before a live bar closed: nothing to store")
            progress.stage("storing the session")
            session = replace(prepared, bars=Bars.concat([history, *live]), trade_from=len(history))
            result = judged(session, traded_part(run, len(history)), chunk_size=1, broker="sim")
            journal.finish(backtest_records(result, self.workspace.data, journal.run_id, self.command))
        return result, journal.run_id
