"""Signal quality: the IC and RankIC of a score against the forward return its label is made of."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from engine.analytics.signal_quality import CROSS_SECTIONAL, TIME_SERIES, signal_quality
from engine.features.dataset import forward_return_labels, forward_returns
from engine.kernel.bars import Bars
from engine.optimize.evaluation import evaluate, parse_objectives
from engine.strategies.files import load_strategy
from engine.workspace import Workspace
from tests.in_process import engine_here

HORIZON = 5


def market(n_bars: int, n_symbols: int, seed: int = 0) -> Bars:
    """A random walk per symbol: nothing in it is predictable but what a test plants."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_bars, n_symbols)), axis=0))
    timestamps = np.datetime64("2010-01-01", "ns") + np.arange(n_bars) * np.timedelta64(1, "D")
    return Bars(timestamps, tuple(f"S{i:02d}" for i in range(n_symbols)), close, close, close, close, np.ones_like(close))


def planted(bars: Bars, horizon: int = HORIZON, noise: float = 0.03, seed: int = 1) -> np.ndarray:
    """A score that knows the future: the forward return plus noise (NaN where the future is unknown)."""
    rng = np.random.default_rng(seed)
    return forward_returns(bars.close, horizon) + rng.normal(0, noise, bars.shape)


def test_a_planted_cross_sectional_signal_ranks_well_and_a_shuffled_one_does_not():
    bars = market(3640, 24)
    score = planted(bars)
    found = signal_quality(score, bars, HORIZON, [(0, 2000), (2000, len(bars))], window=63)
    assert found.basis == CROSS_SECTIONAL
    overall = found.overall()
    assert overall["rank_ic"] > 0.3 and overall["ic"] > 0.3 and overall["rank_icir"] > 1
    assert overall["ic_periods"] == len(bars) - HORIZON  # one IC per bar whose future is known
    assert all(fold["rank_ic"] > 0.3 for fold in found.by_span())

    shuffled = np.random.default_rng(2).permuted(score, axis=1)  # each bar's scores given to other symbols
    assert abs(signal_quality(shuffled, bars, HORIZON, [(0, len(bars))], window=63).overall()["rank_ic"]) < 0.05


def test_each_bars_ic_is_the_scipy_correlation_with_the_labels_forward_return():
    bars = market(40, 6)
    score = planted(bars, noise=0.02)
    score[3, :4] = np.nan  # two symbols left at bar 3: too few to rank across
    score[7, 2] = np.nan
    quality = signal_quality(score, bars, HORIZON, [(0, 40)], window=63)
    outcome = bars.close[7 + HORIZON] / bars.close[7] - 1  # from bar 7's close to the close HORIZON bars later
    known = np.isfinite(score[7])
    at_7 = quality.ics.iloc[7]
    assert at_7["rank_ic"] == pytest.approx(stats.spearmanr(score[7, known], outcome[known]).statistic)
    assert at_7["ic"] == pytest.approx(stats.pearsonr(score[7, known], outcome[known]).statistic)
    assert np.isnan(quality.ics.iloc[3]["rank_ic"])
    assert quality.ics["rank_ic"].iloc[-HORIZON:].isna().all()  # their future is not in the data

    # The labels a model trains on are this same forward return, thresholded.
    labels = forward_return_labels(bars.close, HORIZON, 0.0)
    assert np.array_equal(labels[:-HORIZON], (forward_returns(bars.close, HORIZON)[:-HORIZON] > 0).astype(float))


def test_the_score_at_a_bar_is_measured_against_what_followed_that_bar():
    bars = market(2000, 12)
    perfect = forward_returns(bars.close, 1)
    aligned = signal_quality(perfect, bars, 1, [(0, len(bars))], window=63)
    assert aligned.ics["rank_ic"].dropna().tolist() == pytest.approx([1.0] * (len(bars) - 1))
    assert aligned.overall()["ic"] == pytest.approx(1.0)
    late = np.roll(perfect, 1, axis=0)  # a bar late: yesterday's outcome, known at today's close
    assert abs(signal_quality(late, bars, 1, [(0, len(bars))], window=63).overall()["rank_ic"]) < 0.05


def test_a_universe_too_small_to_rank_is_measured_per_symbol_over_time():
    bars = market(1200, 2)
    score = planted(bars)
    quality = signal_quality(score, bars, HORIZON, [(0, 500), (500, 1000), (1000, 1200)], window=63)
    assert quality.basis == TIME_SERIES
    by_symbol = quality.by_symbol()
    assert list(by_symbol) == ["S00", "S01"] and all(figures["rank_ic"] > 0.3 for figures in by_symbol.values())
    # Each fold's block is cut into windows of at least 63 bars, none across two folds: 7 + 7 + 3 per symbol.
    assert [fold["ic_periods"] for fold in quality.by_span()] == [14, 14, 6]
    assert quality.ics.groupby("span")["timestamp"].max().tolist() == list(bars.index()[[499, 999, 1199]])
    record = quality.to_record()
    assert record["window"] == 63 and record["min_symbols"] == 3 and record["overall"]["icir"] > 1

    shuffled = np.random.default_rng(3).permuted(score, axis=0)  # each symbol's scores at other bars
    assert abs(signal_quality(shuffled, bars, HORIZON, [(0, 1200)], window=63).overall()["rank_ic"]) < 0.1


def test_a_score_without_spread_has_no_ic():
    bars = market(300, 5)
    flat = signal_quality(np.full(bars.shape, 0.5), bars, 1, [(0, 300)], window=63).overall()
    assert flat["rank_ic"] is None and flat["icir"] is None and flat["ic_periods"] == 0


def test_the_backtest_json_and_the_run_store_carry_the_signal_quality(sample_home, tmp_path, monkeypatch, capsys):
    (tmp_path / "data").symlink_to(sample_home / "data")
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    result = engine_here(monkeypatch, capsys, "backtest", "--strategy", "sma_cross", "--start", "2015-01-01", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"ic", "icir", "rank_ic", "rank_icir"} <= set(payload["metrics"])
    run = tmp_path / "runs" / payload["run_id"]
    stored = json.loads((run / "signal_quality.json").read_text())
    assert stored["basis"] == TIME_SERIES and stored["horizon"] == 1  # two symbols; a rule's weight against the next bar
    assert stored["overall"]["rank_ic"] == payload["metrics"]["rank_ic"]
    assert (run / "signal_quality.parquet").exists() and (run / "report" / "charts" / "rank_ic.png").exists()


def test_rank_ic_is_an_objective_to_maximize_from_a_trials_backtest(sample_home, tmp_path):
    (tmp_path / "data").symlink_to(sample_home / "data")
    rank_ic, _ = parse_objectives("rank_ic,max_drawdown")
    evaluation = evaluate(load_strategy("sma_cross").with_overrides(data={"start": "2015-01-01"}), Workspace(tmp_path))
    assert rank_ic.direction == "maximize" and rank_ic.value(evaluation.metrics) == evaluation.metrics["rank_ic"] != 0
    assert rank_ic.value({"rank_ic": None}) == 0.0  # a signal without spread ranks nothing
