"""The top-k portfolio overlay on hand-made scores where the right holdings are known, through the
real pipeline: the k best-ranked held, the dropout and minimum-holding rules, shorts, score
weights, NaN scores, a planted cross-sectional signal found, any chunking alike, and bad settings
refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analytics.metrics import compute_metrics
from engine.execution.conventions import ExecutionRules
from engine.kernel.node import simulate
from engine.overlays.base import OverlayContext, validate_overlay
from engine.overlays.top_k import TOP_K
from engine.signals import Momentum
from engine.strategies.files import load_strategy
from engine.usecases.ablation import run_ablation
from engine.usecases.backtest import PreparedStrategy, load_bars
from engine.usecases.check import check_chunk_invariance
from tests.helpers import FixedWeights, make_bars, run_stages
from tests.test_user_errors import assert_one_line_error

RULES = ExecutionRules(commission=0.0, slippage=0.0, initial_cash=10_000.0)
SYMBOLS = tuple(f"S{i}" for i in range(6))


def top_k(symbols=SYMBOLS, probability=False, allow_short=False, **params):
    context = OverlayContext(symbols, 252.0, 0.0, 0.0, allow_short, probability)
    return TOP_K.build(validate_overlay(TOP_K, params, "overlays[0]", context), context)


def weights_of(scores, stage, chunk=None, mode="replay", prices=None):
    prices = np.full(scores.shape, 10.0) if prices is None else prices
    bars = make_bars(opens=prices, closes=prices)
    result = run_stages([FixedWeights(scores), stage], bars, RULES, mode, chunk)
    return list(result.stage_outputs.values())[-1], result


def longs(weights) -> list[set[int]]:
    return [set(np.flatnonzero(row > 0).tolist()) for row in weights]


def test_it_holds_exactly_the_k_best_ranked_ties_to_the_first_column():
    rng = np.random.default_rng(5)
    scores = rng.uniform(size=(40, 6))
    scores[:3] = 0.0  # a signal's warm-up: every symbol ties, nothing is ranked
    scores[10] = [0.5, 0.9, 0.9, 0.1, 0.9, 0.2]  # a three-way tie for the top
    weights, _ = weights_of(scores, top_k(k=2))
    expected = [set() for _ in range(3)] + [set(np.lexsort((np.arange(6), -row))[:2].tolist()) for row in scores[3:]]
    assert longs(weights) == expected and expected[10] == {1, 2}
    assert set(weights.ravel().tolist()) == {0.0, 0.5}  # 1/k each: a full book is all of equity


def test_dropout_replaces_at_most_n_holdings_a_bar_each_for_a_better_one():
    old, new = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3], [0.3, 0.2, 0.1, 0.9, 0.8, 0.7]
    scores = np.array([old, old, new, new, new, new, [0.5, 0.5, 0.4, 0.9, 0.8, 0.6]])
    weights, _ = weights_of(scores, top_k(k=3, max_replacements=1))
    # The ranking flips at bar 2: one holding a bar goes, the worst first, for the best outsider. At
    # bar 6 the best outsider (S0, 0.5) ranks below the worst holding (S5, 0.6): nothing changes.
    assert longs(weights) == [{0, 1, 2}, {0, 1, 2}, {0, 1, 3}, {0, 3, 4}, {3, 4, 5}, {3, 4, 5}, {3, 4, 5}]
    unlimited, _ = weights_of(scores, top_k(k=3))
    assert longs(unlimited)[2] == {3, 4, 5}


def test_a_holding_stays_min_hold_bars_whatever_its_rank():
    scores = np.tile([[0.9, 0.1, 0.5], [0.1, 0.9, 0.5]], (4, 1))  # the leader swaps every bar
    held = longs(weights_of(scores, top_k(symbols=SYMBOLS[:3], k=1, min_hold_bars=3))[0])
    # S0 chosen at bar 0 stays through bar 2; at bar 3 S1 leads and takes over, through bar 5; then S0.
    assert held == [{0}, {0}, {0}, {1}, {1}, {1}, {0}, {0}]
    assert longs(weights_of(scores, top_k(symbols=SYMBOLS[:3], k=1))[0]) == [{0}, {1}] * 4


def test_shorts_take_the_bottom_ranks_and_score_weights_follow_the_probability():
    scores = np.array([[0.6, 0.2, 0.9, 0.4, 0.3, 0.7]])
    shorted, _ = weights_of(scores, top_k(allow_short=True, k=2, short_k=1))
    np.testing.assert_array_equal(shorted, [[0, -1 / 3, 1 / 3, 0, 0, 1 / 3]])
    weighted, _ = weights_of(scores, top_k(probability=True, allow_short=True, k=2, short_k=1, weighting="score"))
    # The long book's two slots (2/3 of equity) split 0.9 : 0.7; the short slot is the short book's alone.
    np.testing.assert_allclose(weighted, [[0, -1 / 3, 2 / 3 * 0.9 / 1.6, 0, 0, 2 / 3 * 0.7 / 1.6]])


def test_a_nan_score_never_enters_and_a_held_one_is_replaced_first():
    stage = top_k(symbols=SYMBOLS[:4], k=2, max_replacements=1)
    bars = make_bars(opens=np.full((3, 4), 10.0), closes=np.full((3, 4), 10.0), symbols=SYMBOLS[:4])
    scores = np.array([[np.nan, 0.8, 0.7, 0.1], [0.9, np.nan, 0.7, 0.6], [0.9, 0.8, 0.7, np.nan]])
    held = longs(stage.on_chunk(bars, scores))
    assert held == [{1, 2}, {0, 2}, {0, 1}]  # S1's NaN at bar 1 makes it the worst holding: it goes for S0


def test_a_planted_cross_sectional_signal_is_found_and_only_once_it_shows():
    """Four blocks of 40 bars; in each, two symbols drift up 1% a bar while the rest wander. Ranked by
    10-bar momentum, the top-2 book holds each block's pair once its lead shows, never before."""
    rng = np.random.default_rng(11)
    leaders = [(0, 1), (2, 3), (4, 5), (1, 4)]
    drift = np.zeros((160, 6))
    for block, pair in enumerate(leaders):
        drift[block * 40 : (block + 1) * 40, list(pair)] = 0.01
    closes = 100 * np.exp(np.cumsum(drift + rng.normal(0, 0.002, drift.shape), axis=0))
    opens = np.vstack([closes[:1], closes[:-1]])
    bars = make_bars(opens=opens, closes=closes)
    result = run_stages([Momentum(10), top_k(k=2)], bars, RULES)
    held = longs(list(result.stage_outputs.values())[-1])
    assert held[:10] == [set()] * 10  # momentum's warm-up ranks nothing
    for block, pair in enumerate(leaders):
        start = block * 40
        assert all(book == set(pair) for book in held[start + 10 : start + 40]), block  # its window all in the block
        if block:  # a block's first bar has seen one bar of the new lead: the book is still the last pair
            assert held[start] == set(leaders[block - 1])
    everything = (closes[-1] / closes[0]).mean()
    assert result.execution.equity[-1] / result.execution.equity[0] > 2 * everything


@pytest.mark.parametrize("chunk", [1, 7])
def test_any_chunking_gives_identical_weights_and_equity(chunk):
    rng = np.random.default_rng(3)
    scores = rng.uniform(size=(300, 6))
    scores[:20] = 0.5
    scores[rng.uniform(size=scores.shape) < 0.05] = 0.25  # ties
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, scores.shape), axis=0))
    for params in [{"k": 2, "max_replacements": 1, "min_hold_bars": 4}, {"k": 2, "short_k": 2, "weighting": "score"}]:
        whole, run = weights_of(scores, top_k(probability=True, allow_short=True, **params), prices=prices)
        chunked, chunked_run = weights_of(scores, top_k(probability=True, allow_short=True, **params), chunk, prices=prices)
        vectorized = weights_of(scores, top_k(probability=True, allow_short=True, **params), chunk, "vectorized", prices)[1]
        np.testing.assert_array_equal(chunked, whole, err_msg=str(params))
        np.testing.assert_allclose(chunked_run.execution.equity, run.execution.equity, rtol=1e-9)  # a sum's order at most
        np.testing.assert_allclose(vectorized.execution.equity, run.execution.equity, rtol=1e-9)


class PeekingScores:
    """A planted lookahead in a cross-sectional score: each symbol's next close inside the chunk."""

    name = "peeking_scores"

    def on_chunk(self, bars, weights=None, signal=None):
        return np.vstack([bars.close[1:], bars.close[-1:]]) / bars.close - 1.0


def prepared_top_k(store):
    """The built-in top-k strategy over its first four months (some 580 hourly bars)."""
    strategy = load_strategy("topk_momentum").with_overrides(data={"end": "2021-04-30"})
    return PreparedStrategy.over(strategy, load_bars(strategy, store))


def test_the_builtin_top_k_strategy_passes_engine_check_and_a_peeking_score_is_named(store):
    prepared = prepared_top_k(store)
    report = check_chunk_invariance(prepared)
    assert report.passed and {d.chunk_size for d in report.differences} == {1, 7}
    config, context = prepared.resolved.chain[0].config, prepared.overlay_context()
    peeking = check_chunk_invariance(prepared, make_stages=lambda: [PeekingScores(), TOP_K.build(config, context)])
    assert peeking.moving_stages[0] == "stage peeking_scores"


def test_the_builtin_top_k_strategy_trades_the_k_best_ranked(store):
    prepared = prepared_top_k(store)
    run = simulate(prepared)
    scores, weights = run.stage_outputs.values()
    window = prepared.strategy.signal.window
    counts = (weights > 0).sum(axis=1)
    assert set(counts[:window].tolist()) == {0} and set(counts[window:].tolist()) == {5}  # flat through the warm-up
    assert set(weights[weights > 0].tolist()) == {0.2}
    # Dropout and holding rules aside, the book stays among the best: on average inside the top third.
    ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1)
    assert ranks[window:][weights[window:] > 0].mean() < 8
    assert len(run.execution.fills) > 0


def test_the_ablation_takes_a_momentum_score_above_zero_as_raw_and_top_k_as_the_position_step(store):
    prepared = prepared_top_k(store)
    raw, positions, *_ = run_ablation(prepared)
    assert raw["overlays"] == [] and positions["overlays"] == ["top_k"]
    assert positions["trades"] == compute_metrics(simulate(prepared).execution, prepared.periods_per_year)["trades"]
    assert raw["trades"] > positions["trades"] > 0  # long every symbol with a rising month churns more


TOPK = """
name = "mine"
[data]
symbols = ["SYN00", "SYN01", "SYN02", "SYN03"]
timeframe = "1h"
[signal]
kind = "momentum"
window = 5
"""


@pytest.mark.parametrize(
    ("overlay", "pattern"),
    [
        ("k = 0", r"overlays\[0\]\.k: Input should be greater than or equal to 1"),
        ("k = 4", r"overlays\[0\]: Value error, k \+ short_k \(4\) must be fewer than the 4 symbols it ranks"),
        ("k = 1\nshort_k = 1", r"overlays\[0\]\.short_k: Value error, shorting the bottom ranks needs execution\.allow_short"),
        ('k = 1\nweighting = "score"', r"overlays\[0\]\.weighting: Value error, score weighting needs a model's probability"),
        ('k = 1\nweighting = "rank"', r"overlays\[0\]\.weighting: Input should be 'equal' or 'score'"),
        ("k = 1\nmax_replacements = 0", r"overlays\[0\]\.max_replacements: Input should be greater than or equal to 1"),
        ("k = 1\nmin_hold_bars = -1", r"overlays\[0\]\.min_hold_bars: Input should be greater than or equal to 0"),
    ],
)
def test_bad_top_k_settings_are_one_line_naming_the_field(cli, tmp_path, overlay, pattern):
    path = tmp_path / "mine.toml"
    path.write_text(TOPK + f'[[overlays]]\nkind = "top_k"\n{overlay}\n')
    assert_one_line_error(cli("backtest", "--strategy", str(path)), pattern)


def test_scores_without_an_overlay_that_ranks_them_are_refused(cli, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TOPK + '[[overlays]]\nkind = "holding"\nmin_holding_bars = 2\n')
    pattern = r"overlays: signal momentum gives scores, not weights; the first overlay must turn them into positions"
    assert_one_line_error(cli("backtest", "--strategy", str(path)), pattern)
    path.write_text(TOPK)
    assert_one_line_error(cli("backtest", "--strategy", str(path)), pattern)
