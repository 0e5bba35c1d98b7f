"""`engine check`: a stage that peeks ahead is caught and named; honest strategies pass."""

from __future__ import annotations

import numpy as np

from engine.execution.conventions import ExecutionRules
from engine.signals import SmaCross
from engine.strategies.files import load_strategy
from engine.usecases.backtest import PreparedStrategy, load_bars
from engine.usecases.check import check_chunk_invariance
from tests.helpers import PeekAhead


class PeekAheadOverlay(PeekAhead):
    """Same planted lookahead, as an overlay that zeroes the signal unless the next close is higher."""

    name = "peek_ahead_overlay"

    def on_chunk(self, bars, weights=None, signal=None):
        return np.where(super().on_chunk(bars) > 0, weights, 0.0)


def setup(store):
    strategy = load_strategy("sma_cross").with_overrides(data={"start": "2015-01-01"})
    return load_bars(strategy, store), ExecutionRules.from_strategy(strategy), strategy


def test_builtin_strategy_passes(store):
    bars, rules, strategy = setup(store)
    report = check_chunk_invariance(PreparedStrategy.over(strategy, bars))
    assert report.passed
    assert {d.chunk_size for d in report.differences} == {1, 7}


def test_a_planted_peek_ahead_signal_is_named(store):
    bars, _, strategy = setup(store)
    report = check_chunk_invariance(PreparedStrategy.over(strategy, bars), make_stages=lambda: [PeekAhead()])
    assert not report.passed
    assert report.moving_stages == ["stage peek_ahead"]
    moved = [d for d in report.differences if d.moved]
    assert {d.output for d in moved} >= {"stage peek_ahead", "equity"}


def test_the_peeking_overlay_is_named_not_the_honest_signal_before_it(store):
    bars, _, strategy = setup(store)
    prepared = PreparedStrategy.over(strategy, bars)
    report = check_chunk_invariance(prepared, make_stages=lambda: [SmaCross(20, 50), PeekAheadOverlay()])
    assert report.moving_stages == ["stage peek_ahead_overlay"]
