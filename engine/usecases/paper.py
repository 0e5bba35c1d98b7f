"""A paper session: the backtested pipeline, its stage objects and execution conventions, fed live
one bar at a time (DESIGN §11).

The strategy is prepared on its stored history exactly as a backtest prepares it (a model's folds
trained or reused, thresholds calibrated), sized at the decision close (`execution.size_at =
"close"`: a live broker cannot see the next open), warms up on that history, then trades each bar
the Alpaca live feed (engine.feeds.alpaca) pushes as it closes. Its node (engine.kernel.node) is the
backtest's, with the strategy's risk gate; its orders go to Alpaca's paper account (or `engine
sandbox`) through the Alpaca broker (engine.execution.alpaca), journaled in `orders.sqlite` in the
session's run folder; or, with `--broker sim`, to the sim broker (a dry run: the same session,
with the same orders and equity as `engine backtest --size-at close` over the same bars).

The session is a run of the run store (kind `paper`), running with its progress in live bars while
it trades, and after each live bar its state in `live.json` (the bar, equity, cash, positions,
fills so far, a halt) for `engine paper status` in another terminal. Stored at the end as a
backtest is (metrics beside buy-and-hold over the same live bars, equity, trades, orders). It ends
after `max_bars` live bars, at Ctrl-C, or when `engine paper stop` leaves `stop.json` in its folder,
after the bar it is on.

An Alpaca session that ended, or whose process died, is resumed by its run id (`--session`): in
the same run folder, it warms up on the stored bars up to the last bar whose orders were all
placed, books the journal's fills, settles every order the journal left open with the broker (by
client order id: nothing is sent twice), and trades on from the next bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from engine import progress
from engine.alpaca.connection import AlpacaConnection
from engine.execution.alpaca import AlpacaBroker
from engine.feeds.alpaca import AlpacaFeed, LiveSettings
from engine.kernel.bars import Bars
from engine.kernel.node import Mode, build_node, traded_part
from engine.kernel.pipeline import PipelineState
from engine.stores.order_journal import OrderJournal
from engine.stores.releases import Release
from engine.stores.run_files import read_document
from engine.stores.runs import RunJournal, RunRecords, RunStore, now
from engine.strategies.resolution import ResolvedStrategy
from engine.usecases.backtest import BacktestResult, judged, prepare
from engine.usecases.backtest_run import backtest_records
from engine.usecases.paper_control import HALT, JOURNAL, LIVE, MANUAL_HALT, STOP, PaperError, paper_run
from engine.usecases.release import deployed
from engine.workspace import Workspace

BROKERS = ("alpaca", "sim")
STOP_CHECK_SECONDS = 0.5


def check_broker(broker: str) -> None:
    if broker not in BROKERS:
        raise PaperError(f"--broker {broker}: use {' or '.join(BROKERS)}")


class PaperSession:
    def __init__(
        self,
        resolved: ResolvedStrategy,
        workspace: Workspace,
        connection: AlpacaConnection,
        settings: LiveSettings,
        command: list[str],
        broker: str = "sim",
        session: str | None = None,
        crash_at: str | None = None,
        release: Release | None = None,
    ) -> None:
        """`release`: the release `resolved` is the traded strategy of, whose models the session trades
        (engine.usecases.release.deployed); `crash_at`: the tests' hook that kills the session at a
        point of its order flow (engine.execution.alpaca's CRASH_VARIABLE)."""
        check_broker(broker)
        if session is not None and broker != "alpaca":
            raise PaperError("--session resumes a session of the alpaca broker: a sim session has nothing to resume")
        # A live broker cannot see the next open: every paper mode, the dry run too, sizes at the close.
        resolved = replace(resolved, strategy=resolved.strategy.with_overrides(execution={"size_at": "close"}))
        self.resolved, self.workspace, self.command = resolved, workspace, command
        self.connection, self.broker_name, self.crash_at = connection, broker, crash_at
        if broker == "alpaca":
            connection.check_orders_go_to_paper()
        self.resumed = None if session is None else _resumable(workspace.runs, session, resolved.name)
        self.release = None if release is None else release.reference
        if self.resumed is not None:
            with closing(OrderJournal(workspace.runs.path(self.resumed) / JOURNAL)) as journal:
                done = pd.Timestamp(journal.fact("last_done") or journal.fact("history_end"))
                traded = journal.fact("release")
            if traded != self.release:
                option = f"--release {traded}" if traded else f"--strategy {resolved.name}"
                raise PaperError(f"session {self.resumed} traded {traded or 'a strategy'}: resume it with {option}")
        self.prepared = prepare(resolved, workspace) if release is None else deployed(release, resolved, workspace)
        history = self.prepared.bars
        if self.resumed is not None:
            history = history.slice(0, int(np.searchsorted(history.timestamps, _naive(done), side="right")))
        data = resolved.strategy.data
        self.feed = AlpacaFeed(workspace.data, connection, tuple(data.symbols), data.timeframe, history, settings)
        self.feed.now()  # the server answers (its address, the keys) before any run exists
        self.flatten = False

    def stop(self, flatten: bool = False) -> None:
        """End the session after the bar it is on (from a signal handler or another thread)."""
        self.flatten = self.flatten or flatten
        self.feed.stop()

    def run(self, on_bar: Callable[[Bars], None] | None = None) -> tuple[BacktestResult, str]:
        """Trade until the feed ends; returns the session's result and its run id."""
        strategy, runs = self.resolved.strategy, self.workspace.runs
        journal = (
            runs.open("paper", strategy.name, self.command) if self.resumed is None else runs.reopen(self.resumed, self.command)
        )
        with journal:
            orders = OrderJournal(journal.path / JOURNAL) if self.broker_name == "alpaca" else None
            try:
                return self._trade(journal, orders, on_bar), journal.run_id
            finally:
                if orders is not None:
                    orders.close()

    def _trade(self, journal: RunJournal, orders: OrderJournal | None, on_bar) -> BacktestResult:
        prepared, strategy, history = self.prepared, self.resolved.strategy, self.feed.history
        if orders is None:
            broker, initial_cash, held = "sim", prepared.rules.initial_cash, None
        else:
            broker = AlpacaBroker(self.connection, prepared.rules, orders, strategy.name, crash_at=self.crash_at)
            if orders.fact("history_end") is None:
                orders.set_fact("history_end", _iso(history.timestamps[-1]))
                orders.set_fact("release", self.release)
                orders.set_fact("initial_cash", broker.account()[0])
            initial_cash, held = orders.fact("initial_cash"), orders.fact("targets")
            held = None if held is None else np.array(held, dtype=float)
        # Every bar after the history may trade; the history only warms the stages up.
        first_live = history.timestamps[-1] + np.timedelta64(1, "ns")
        halted = None if orders is None else orders.fact("halted")
        mode = Mode(broker, trade_from=first_live, held_targets=held, initial_cash=initial_cash, halted=halted)
        node = build_node(prepared, mode)
        if orders is not None:
            broker.listen()
        session_start = _naive(pd.Timestamp(orders.fact("history_end"))) if orders is not None else history.timestamps[-1]
        past_live = int(len(history) - np.searchsorted(history.timestamps, session_start, side="right"))
        live: list[Bars] = []
        limit = self.feed.settings.max_bars or 0
        journal.progress(past_live, past_live + limit, force=True)

        def push(bars: Bars) -> None:
            node.push(bars)
            if bars is history:
                return
            live.append(bars)
            state = node.state()
            if orders is not None:  # every order of this bar is placed: a restart goes on from the next
                orders.decide(_iso(bars.timestamps[-1]), _bar_inputs(bars), _by_symbol(state.stage_weights, bars.symbols))
                orders.set_fact("targets", state.targets.tolist())
                orders.set_fact("last_done", _iso(bars.timestamps[-1]))
            journal.write(RunRecords({LIVE: _state(state, bars, past_live + len(live))}))
            journal.progress(past_live + len(live), past_live + limit)
            if on_bar is not None:
                on_bar(bars)

        ended = threading.Event()
        watcher = threading.Thread(target=self._watch_for_requests, args=(journal.path, node.halt, ended), daemon=True)
        watcher.start()
        try:
            self.feed.run(push)
        finally:
            ended.set()
        if self.flatten and orders is not None:
            broker.flatten()
        run = node.close()
        (journal.path / STOP).unlink(missing_ok=True)
        if not live and not past_live:
            raise PaperError(f"the session of {strategy.name} ended before a live bar closed: nothing to store")
        progress.stage("storing the session")
        bars = Bars.concat([history, *live])
        traded_from = int(np.searchsorted(bars.timestamps, session_start, side="right"))
        session = replace(prepared, bars=bars, trade_from=traded_from)
        result = judged(session, traded_part(run, traded_from), chunk_size=1, broker=self.broker_name)
        journal.finish(backtest_records(result, self.workspace.data, journal.run_id, self.command))
        return result

    def _watch_for_requests(self, folder: Path, halt: Callable[[str], None], ended: threading.Event) -> None:
        """Act on what other processes ask through files in the session's folder: a halt (the risk gate
        stops trading, the session goes on), then a stop (the session ends after its bar)."""
        while not ended.wait(STOP_CHECK_SECONDS):
            if (folder / HALT).exists():
                halt(MANUAL_HALT)
                (folder / HALT).unlink(missing_ok=True)
            if (folder / STOP).exists():
                asked = read_document(folder, STOP, required=False) or {}
                self.stop(flatten=bool(asked.get("flatten")))
                return


def _resumable(runs: RunStore, reference: str, strategy: str) -> str:
    """The id of a session that can be resumed: a paper session of `strategy` with a journal, not running."""
    run_id, status = paper_run(runs, reference)
    if status["strategy"] != strategy:
        raise PaperError(f"session {run_id} trades {status['strategy']}, not {strategy}")
    if status["status"] == "running":
        raise PaperError(f"session {run_id} is running (pid {status.get('pid')}): stop it before resuming it")
    if not (runs.path(run_id) / JOURNAL).exists():
        raise PaperError(f"session {run_id} has no order journal ({JOURNAL}): only an alpaca session can be resumed")
    return run_id


def _bar_inputs(bars: Bars) -> dict:
    """A one-bar chunk's prices and volume, by field and symbol."""
    fields = ("open", "high", "low", "close", "volume")
    return {field: dict(zip(bars.symbols, getattr(bars, field)[-1].tolist(), strict=True)) for field in fields}


def _by_symbol(weights: dict[str, np.ndarray], symbols: tuple[str, ...]) -> dict:
    return {topic: dict(zip(symbols, row.tolist(), strict=True)) for topic, row in weights.items()}


def _iso(stamp: np.datetime64) -> str:
    return pd.Timestamp(stamp, tz="UTC").isoformat()


def _naive(stamp: pd.Timestamp) -> np.datetime64:
    return np.datetime64(stamp.tz_convert("UTC").tz_localize(None).as_unit("ns"))


def _state(state: PipelineState, bars: Bars, live_bars: int) -> dict:
    """The session after a live bar, marked at its close."""
    return {
        "bar": str(bars.index()[-1]),
        "live_bars": live_bars,
        "equity": float(state.cash + state.positions @ bars.close[-1]),
        "cash": state.cash,
        "positions": {symbol: float(shares) for symbol, shares in zip(bars.symbols, state.positions, strict=True)},
        "fills": state.fills,
        "halted": state.halted,
        "updated_at": now(),
    }
