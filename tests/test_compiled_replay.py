"""The compiled replay step keeps the books the event-driven router, sim broker and ledger keep, bit
for bit: at every chunk size, sized at the open or the close, long/short with minimum commissions
and whole shares, trading from a later bar with targets already held, and halted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.execution.broker import SimBroker
from engine.execution.conventions import ExecutionRules
from engine.feeds.historical import HistoricalFeed
from engine.kernel.node import Mode, build_node
from engine.kernel.pipeline import Pipeline, PipelineRun, run_feed
from engine.kernel.topics import ORDER_UPDATES
from engine.strategies.files import load_strategy
from engine.usecases.backtest import PreparedStrategy
from tests.helpers import FixedWeights, make_bars

RULES = {
    "default": ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=100_000.0),
    "sized at close": ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=100_000.0, size_at="close"),
    "short, minimum fee, whole shares": ExecutionRules(
        commission=0.002, slippage=0.001, initial_cash=20_000.0, allow_short=True, min_commission=5.0, fractional_shares=False
    ),
}


def _market(rows: int = 150, symbols: int = 4, seed: int = 3):
    """Random walks and targets that change often, held now and then, and over-spend the cash (the buys shrink)."""
    random = np.random.default_rng(seed)
    closes = 50.0 * np.exp(np.cumsum(random.normal(0, 0.02, (rows, symbols)), axis=0))
    opens = closes * np.exp(random.normal(0, 0.005, (rows, symbols)))
    weights = np.round(random.uniform(-0.2, 0.45, (rows, symbols)), 1)
    held = random.random(rows) < 0.4
    for row in np.flatnonzero(held)[1:]:
        weights[row] = weights[row - 1]
    return make_bars(opens, closes), weights


def _run(bars, weights, rules, chunk, compiled, between=None, **options) -> PipelineRun:
    pipeline = Pipeline([FixedWeights(weights)], SimBroker(rules), bars.symbols, rules.initial_cash, compiled=compiled, **options)
    if between is None:
        return run_feed(pipeline, HistoricalFeed(bars, chunk))
    for row in range(len(bars)):
        pipeline.push(bars.slice(row, row + 1))
        between(pipeline, row)
    return pipeline.close()


def _assert_same_books(ours: PipelineRun, events: PipelineRun) -> None:
    a, b = ours.execution, events.execution
    for field in ("equity", "cash", "positions", "fill_bars", "fill_columns"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert a.fills.equals(b.fills)
    assert len(a.fills) > 20
    assert ours.stage_outputs.keys() == events.stage_outputs.keys()
    assert ours.differences == events.differences == []


@pytest.mark.parametrize("chunk", [1, 7, None])
@pytest.mark.parametrize("rules", RULES.values(), ids=RULES.keys())
def test_compiled_books_are_the_event_driven_ones(chunk, rules):
    bars, weights = _market()
    if not rules.allow_short:
        weights = np.abs(weights)
    _assert_same_books(_run(bars, weights, rules, chunk, True), _run(bars, weights, rules, chunk, False))


def test_trading_from_a_later_bar_with_targets_already_held():
    bars, weights = _market()
    weights = np.abs(weights)
    options = {"trade_from": bars.timestamps[40], "held_targets": weights[39], "strategy": "resumed"}
    ours = _run(bars, weights, RULES["default"], 1, True, **options)
    _assert_same_books(ours, _run(bars, weights, RULES["default"], 1, False, **options))
    assert ours.execution.fill_bars.min() >= 41
    assert ours.execution.fills["decided_at"].min() >= bars.index()[40]


def test_a_halt_by_hand_cancels_what_waits_and_refuses_later_orders_alike():
    bars, weights = _market()
    weights = np.abs(weights)

    def halt_after_bar_60(pipeline, row):
        if row == 60:
            pipeline.halt("stopped by hand")

    runs = [_run(bars, weights, RULES["default"], None, compiled, halt_after_bar_60) for compiled in (True, False)]
    _assert_same_books(*runs)
    ours, events = runs
    assert ours.execution.fill_bars.max() <= 60
    assert [(e.timestamp, e.action, e.targets) for e in ours.risk] == [(e.timestamp, e.action, e.targets) for e in events.risk]
    assert ours.risk[0].action == "halted" and sum(e.action == "refused" for e in ours.risk) > 10


def test_the_node_compiles_only_what_nothing_else_listens_to(sample_home):
    from engine.data.store import DataStore
    from engine.usecases.backtest import load_bars

    strategy = load_strategy("sma_cross")
    prepared = PreparedStrategy.over(strategy, load_bars(strategy, DataStore(sample_home / "data")))
    heard = []
    assert build_node(prepared, Mode(broker="sim")).compiled
    assert not build_node(prepared, Mode(broker="vectorized")).compiled
    listened = build_node(prepared, Mode(broker="sim", listeners=[(ORDER_UPDATES, heard.append)]))
    assert not listened.compiled
    run_feed(listened, HistoricalFeed(prepared.bars, 50))
    assert {update.status for update in heard} >= {"accepted", "filled"}
    limited = PreparedStrategy.over(strategy.with_overrides(risk={"position_cap": 0.4}), prepared.bars)
    assert not build_node(limited, Mode(broker="sim")).compiled
