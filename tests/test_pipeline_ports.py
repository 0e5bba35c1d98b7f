"""The push-driven pipeline with its ports: a feed pushing one bar at a time, a broker that reports
fills late, order ids and updates, and the ledger's comparison with the broker's account."""

from __future__ import annotations

import numpy as np
import pytest

from engine.execution.broker import SimBroker
from engine.execution.conventions import ExecutionRules
from engine.feeds.historical import HistoricalFeed
from engine.kernel.bus import EventBus
from engine.kernel.events import AccountSnapshot, BarChunk, Fills, order_id
from engine.kernel.ledger import Ledger
from engine.kernel.pipeline import Pipeline, run_feed
from engine.kernel.topics import ACCOUNT, BARS, CLOSES, FILLS, ORDER_UPDATES, RECONCILIATION, RISK
from engine.signals import SmaCross
from engine.strategies.files import load_strategy
from engine.usecases.backtest import load_bars
from tests.helpers import make_bars, run_stages

RULES = ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=100_000.0)


class LateFills:
    """The sim broker, except that its fills reach the bus only after the next bar's event has
    gone through the pipeline: each bar has been marked before the fills that belong to it arrive."""

    name = "late"

    def __init__(self, rules: ExecutionRules) -> None:
        self._sim = SimBroker(rules)
        self._held: list = []

    def attach(self, bus: EventBus, symbols: tuple[str, ...], gate) -> None:
        inner = EventBus()
        self._sim.attach(inner, symbols, gate)
        inner.subscribe(FILLS, self._held.append)
        bus.subscribe(BARS, lambda event: inner.publish(BARS, event))
        bus.subscribe("orders", lambda event: inner.publish("orders", event))
        self._bus = bus

    def deliver(self) -> None:
        for fills in self._held:
            self._bus.publish(FILLS, fills)
        self._held.clear()


class OneBarAtATime:
    """A live-style feed: one bar per push, with a hook run between bars (after each bar's open event)."""

    name = "one_bar"

    def __init__(self, bars, between) -> None:
        self.bars, self.symbols, self.between = bars, bars.symbols, between

    def run(self, push) -> None:
        for row in range(len(self.bars)):
            push(self.bars.slice(row, row + 1))
            self.between()


@pytest.fixture(scope="module")
def sma_bars(sample_home):
    from engine.data.store import DataStore

    return load_bars(load_strategy("sma_cross"), DataStore(sample_home / "data"))


def test_fills_that_arrive_late_restate_the_books_to_the_same_equity(sma_bars):
    on_time = run_stages([SmaCross(50, 200)], sma_bars, RULES, "replay", chunk=1).execution
    broker = LateFills(RULES)
    pipeline = Pipeline([SmaCross(50, 200)], broker, sma_bars.symbols, RULES.initial_cash)
    late = run_feed(pipeline, OneBarAtATime(sma_bars, broker.deliver)).execution
    assert len(late.fills) == len(on_time.fills) > 10
    np.testing.assert_allclose(late.equity, on_time.equity, rtol=1e-9, atol=0.0)
    np.testing.assert_allclose(late.cash, on_time.cash, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(late.fill_bars, on_time.fill_bars)


def one_buy(stamp: str, shares: float, price: float) -> Fills:
    when = np.datetime64(stamp, "ns")
    return Fills(("o",), [when], [when], [0], [1], [shares], [price], [0.0], [0.0], [1.0])


def test_the_ledger_books_a_fill_at_the_last_bar_at_or_before_it_whenever_it_arrives():
    bars = make_bars(opens=[10.0, 10, 10, 10], closes=[10.0, 11, 12, 13])  # daily, from 2024-01-01
    bus = EventBus()
    ledger = Ledger(bus, bars.symbols, 1000.0)
    bus.publish(CLOSES, BarChunk(bars.slice(0, 2)))
    bus.publish(FILLS, one_buy("2024-01-01T15:00", 10, 10.0))  # during bar 0, after its close was marked
    bus.publish(FILLS, one_buy("2024-01-02T18:00", 5, 11.0))  # during bar 1, after its mark: waits for the next marks
    bus.publish(FILLS, one_buy("2024-01-03T09:00", 1, 12.0))  # during bar 2, before it is marked
    bus.publish(CLOSES, BarChunk(bars.slice(2, 4)))
    bus.publish(FILLS, one_buy("2024-01-04T10:00", 2, 13.0))  # during the last bar, after every mark
    result = ledger.result()
    np.testing.assert_allclose(result.positions[:, 0], [10, 15, 16, 18])
    np.testing.assert_allclose(result.cash, [900, 845, 833, 807])
    np.testing.assert_allclose(result.equity, [1000, 1010, 1025, 1041])
    np.testing.assert_array_equal(result.fill_bars, [0, 1, 2, 3])


def test_orders_have_deterministic_ids_and_report_their_states(sma_bars):
    updates = []
    pipeline = Pipeline([SmaCross(50, 200)], SimBroker(RULES), sma_bars.symbols, RULES.initial_cash, strategy="sma_cross",
                        listeners=[(ORDER_UPDATES, updates.append)])  # fmt: skip
    run = run_feed(pipeline, HistoricalFeed(sma_bars, 7))
    fills = run.execution.fills
    first = fills.iloc[0]
    expected = order_id("sma_cross", np.datetime64(first.decided_at.tz_convert(None)), first.symbol)
    filled = [update for update in updates if update.status == "filled"]
    assert filled[0].order_id == expected and expected.startswith("sma_cross-") and expected.endswith(first.symbol)
    assert len(filled) == len(fills)
    accepted = {update.order_id for update in updates if update.status == "accepted"}
    assert {update.order_id for update in filled} <= accepted
    # the same run again names its orders the same way: a resent order is recognisably the same order
    again = []
    pipeline = Pipeline([SmaCross(50, 200)], SimBroker(RULES), sma_bars.symbols, RULES.initial_cash, strategy="sma_cross",
                        listeners=[(ORDER_UPDATES, again.append)])  # fmt: skip
    run_feed(pipeline, HistoricalFeed(sma_bars, None))
    assert [u.order_id for u in again if u.status == "filled"] == [u.order_id for u in filled]


class Misreporting(SimBroker):
    """The sim broker, except that its account after the chunk ending at `at` shows $250 less cash, 3
    more shares of SP500 and 7 of GOLD than it holds: what a paper account reset looks like."""

    def __init__(self, rules: ExecutionRules, at: np.datetime64) -> None:
        super().__init__(rules)
        self.at = at

    def attach(self, bus: EventBus, symbols: tuple[str, ...], gate) -> None:
        super().attach(bus, symbols, gate)
        self._bus = bus

    def on_orders(self, event) -> None:
        super().on_orders(event)
        if event.bars.timestamps[-1] == self.at:
            held = self.account.holdings()
            wrong = {**held, "SP500": held["SP500"] + 3, "GOLD": 7.0}
            self._bus.publish(ACCOUNT, AccountSnapshot(self.at, self.account.cash - 250.0, wrong))


def test_the_ledger_reports_where_the_brokers_account_differs_and_the_gate_halts(sma_bars):
    head, tail = sma_bars.slice(0, 1500), sma_bars.slice(1500, len(sma_bars))
    reported, risk = [], []
    broker = Misreporting(RULES, head.timestamps[-1])
    listeners = [(RECONCILIATION, reported.append), (RISK, risk.append)]
    pipeline = Pipeline([SmaCross(50, 200)], broker, sma_bars.symbols, RULES.initial_cash, listeners=listeners)
    pipeline.push(head.slice(0, 1499))
    assert reported == [] and pipeline.state().halted is None  # the sim broker's own snapshots agree with the books
    pipeline.push(head.slice(1499, 1500))
    fields = {difference.field: difference for difference in reported}
    assert set(fields) == {"cash", "SP500", "GOLD"}
    assert fields["cash"].difference == pytest.approx(-250.0)
    assert fields["SP500"].difference == pytest.approx(3.0) and fields["GOLD"].ledger == 0.0
    # 3 shares of SP500 are more than 1% of equity: trading halts, as it does in an Alpaca session.
    assert pipeline.state().halted.startswith("the broker's SP500 (")
    pipeline.push(tail)
    run = pipeline.close()
    assert len(run.differences) == 3  # what was found is kept with the run
    assert run.execution.fills.timestamp.max() <= tail.index()[0]  # nothing decided after the halt filled
    assert [event.action for event in risk][0] == "halted" and {event.action for event in risk[1:]} <= {"refused"}


def test_a_pipeline_refuses_a_chunk_over_other_symbols(sma_bars):
    pipeline = Pipeline([SmaCross(50, 200)], SimBroker(RULES), sma_bars.symbols, RULES.initial_cash)
    with pytest.raises(ValueError, match="pushed into a pipeline over"):
        pipeline.push(make_bars(opens=[1.0], closes=[1.0], symbols=("X",)))
