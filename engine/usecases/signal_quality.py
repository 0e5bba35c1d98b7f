"""The signal quality (engine.analytics.signal_quality) of a backtest and of a walk-forward.

A model's score is its out-of-sample probability, measured against its label's forward return
(same close, same horizon), per walk-forward fold. A rule strategy's score is its signal stage's
target weight, measured against the next bar's return (it has no label horizon; a weight held
from the next bar's open earns from about then), over the traded period as one span; a signal
that is the same for every symbol at every bar (buy-and-hold) has no IC.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from engine.analytics.annualization import quarter_of_bars
from engine.analytics.signal_quality import SignalQuality, signal_quality
from engine.kernel.bars import Bars
from engine.kernel.pipeline import PipelineRun
from engine.overlays.memo import StageMemo, recall
from engine.strategies.schema import LEARNED_SIGNALS, Strategy


class PreparedStrategy(Protocol):
    """What the signal quality needs of a prepared strategy (engine.usecases.backtest.PreparedStrategy,
    which imports this module)."""

    periods_per_year: float
    predictions: Any  # engine.signals.cache.CachedPredictions, or None for a rule
    walk_forward: Any  # the learned signal's walk-forward, or None

    @property
    def strategy(self) -> Strategy: ...


RULE_HORIZON = 1


def score_horizon(prepared: PreparedStrategy) -> int:
    signal = prepared.strategy.signal
    return signal.labels.horizon if isinstance(signal, LEARNED_SIGNALS) else RULE_HORIZON


def backtest_signal_quality(prepared: PreparedStrategy, run: PipelineRun, memo: StageMemo | None = None) -> SignalQuality:
    """The IC of the signal stage's output over the traded bars (each model fold apart); through
    `memo` where runs repeat the same signal over the same bars (an overlay-only study's trials)."""
    bars = run.execution.bars
    scores = next(iter(run.stage_outputs.values()))  # the first stage is the signal
    folds = None if prepared.predictions is None else prepared.predictions.fold_metrics
    horizon, window = score_horizon(prepared), quarter_of_bars(prepared.periods_per_year)

    def measured() -> SignalQuality:
        spans = [(0, len(bars))] if folds is None else _traded_spans(bars, folds)
        return signal_quality(scores, bars, horizon, spans, window)

    blocks = None if folds is None else tuple((fold["predict_start"], fold["predict_end"]) for fold in folds)
    key = ("signal_quality", horizon, window, blocks, bars.symbols)
    return recall(memo, key, (scores, bars.close, bars.timestamps.view(np.int64)), measured)


def walk_forward_signal_quality(prepared: PreparedStrategy) -> SignalQuality:
    """The IC of a model's out-of-sample probabilities over its whole history, fold by fold (`engine train`)."""
    walk_forward = prepared.walk_forward
    spans = [(trained.fold.predict_start, trained.fold.predict_end) for trained in walk_forward.folds]
    window = quarter_of_bars(prepared.periods_per_year)
    return signal_quality(walk_forward.predictions, walk_forward.bars, score_horizon(prepared), spans, window)


def _traded_spans(bars: Bars, folds: list[dict]) -> list[tuple[int, int]]:
    """Each fold's prediction block, in rows of the traded `bars` (empty where it lies before them);
    the last runs to the last bar, where a deployed model's retrained folds predict (paper trading)."""
    index = bars.index()
    starts = index.searchsorted([pd.Timestamp(fold["predict_start"]) for fold in folds])
    stops = [*index.searchsorted([pd.Timestamp(fold["predict_end"]) for fold in folds[:-1]], side="right"), len(bars)]
    return [(int(start), int(stop)) for start, stop in zip(starts, stops, strict=True)]
