"""The TUI's Paper screen over a live session trading against `engine sandbox`: a fill arrives as the
session trades, the kill switch and the stop ask for confirmation, then act; and its snapshot over a
finished session."""

from __future__ import annotations

import threading
import time

import pytest

from engine.alpaca.connection import AlpacaConnection
from engine.feeds.alpaca import LiveSettings
from engine.stores.order_journal import OrderJournal
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy
from engine.tui.app import EngineApp
from engine.tui.confirm import Confirm
from engine.tui.paper import PaperScreen
from engine.usecases.paper import PaperSession
from engine.usecases.paper_control import JOURNAL, MANUAL_HALT
from tests.paper_session import stepped_session
from tests.sandbox import advance
from tests.test_tui import SIZE, freeze, rows, until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_paper_session_is_watched_halted_and_stopped_from_the_tui(trader):
    workspace, path, sandbox = trader
    with sandbox() as url:
        session = PaperSession(resolve_strategy(load_strategy(str(path))), workspace, AlpacaConnection.from_env(),
                               LiveSettings(poll=0.2), [], "alpaca")  # fmt: skip
        traded = threading.Semaphore(0)
        runner = threading.Thread(target=session.run, kwargs={"on_bar": lambda _: traded.release()})
        runner.start()
        try:
            app = EngineApp(workspace)
            async with app.run_test(size=SIZE) as pilot:
                for _ in range(7):  # SYN00 is bought at bar 5's open, SYN01's buy is sent at its close
                    advance(url)
                    assert traded.acquire(timeout=60)
                await until(pilot, lambda: [row[3] for row in rows(app)] == ["running"])  # the session, listed
                await pilot.press("enter")
                await pilot.pause()
                assert isinstance(app.screen, PaperScreen)
                orders = app.screen.query_one("#orders")
                statuses = [str(orders.get_row_at(row)[4]) for row in range(orders.row_count)]
                assert statuses == ["filled", "filled"]
                log = app.screen.query_one("#log")
                events = [str(log.get_row_at(row)[1]) for row in range(log.row_count)]
                assert events.count("decided") == 7 and events.count("filled") == 2 and events[0] == "decided"
                assert "after 7 live bars" in str(app.screen.query_one("#state").render())
                await pilot.press("k")
                await pilot.pause()
                assert isinstance(app.screen, Confirm)
                await pilot.press("y")
                run_path = workspace.runs.path("latest")
                deadline = time.monotonic() + 10
                while OrderJournal(run_path / JOURNAL).fact("halted") is None and time.monotonic() < deadline:
                    await pilot.pause(0.2)
                assert OrderJournal(run_path / JOURNAL).fact("halted") == MANUAL_HALT
                await pilot.press("x", "y")
                runner.join(30)
                assert not runner.is_alive()  # stopped
                await until(pilot, lambda: "finished" in app.screen.sub_title)
        finally:
            session.stop()
            runner.join(30)


def test_paper_screen_snapshot(trader, snap_compare):
    """Seven live bars (two buys filled), the session finished, its run under a fixed id and times."""
    workspace, path, sandbox = trader
    with sandbox() as url:
        _, run_id = stepped_session(workspace, url, path, 7)
    frozen = "20240102-094000-sma_live-000003"
    freeze(workspace.runs.path(run_id), workspace.runs.root / frozen)

    async def open_session(pilot) -> None:
        pilot.app.push_screen(PaperScreen(workspace.runs, frozen))
        await pilot.pause()

    assert snap_compare(EngineApp(workspace), run_before=open_session, terminal_size=SIZE)
