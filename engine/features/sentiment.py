"""News sentiment as a causal feature: FinBERT scores of the stored articles (engine news score),
joined to the bars.

An article counts for the first bar whose close is at or after its publication time plus the
latency, so an article published after a bar's close never reaches that bar's decision. A bar
shorter than a day closes at its start plus its length; a daily (or longer) bar closes at 16:00
New York time on its last weekday, whatever the season (DST moves it between 20:00 and 21:00 UTC).
News over a weekend or a holiday counts for the next bar's close.

Per bar and symbol:

- `mean`: the mean score (P(positive) − P(negative)) of the articles that became available in the
  bar, 0 when none did;
- `count`: how many did;
- `decayed`: every article's score so far, each weighted by a half every `half_life_bars` bars since
  its bar, so news carries across the bars without any, weekends and holidays included;
- `age`: bars since the newest article's bar, at most ten half-lives (older news weighs under 0.1%).

A window of 64 half-lives is `history`: what an article older than that still adds to `decayed` is
below float precision, so any chunking of the bars gives the same features.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
from numba import njit

from engine.data.store import bar_length
from engine.features.base import FeatureContext, FeatureInputsMissing
from engine.features.sentiment_settings import SentimentSettings
from engine.kernel.bars import EXCHANGE_ZONE, Bars
from engine.news.timeline import available_scores

EXCHANGE_CLOSE = pd.Timedelta(hours=16)
HALF_LIVES_OF_HISTORY = 64
HALF_LIVES_OF_AGE = 10


class SentimentFeatures:
    """The `sentiment` feature provider as registered: configured by each strategy that names it."""

    name = "sentiment"
    columns = ("mean", "count", "decayed", "age")
    settings = SentimentSettings

    def configure(self, settings: SentimentSettings, context: FeatureContext) -> NewsSentiment:
        return NewsSentiment(settings, context)


class NewsSentiment:
    name = SentimentFeatures.name
    columns = SentimentFeatures.columns
    uses_volume = False

    def __init__(self, settings: SentimentSettings, context: FeatureContext) -> None:
        self.settings, self.context = settings, context
        self.history = math.ceil(HALF_LIVES_OF_HISTORY * settings.half_life_bars)
        self._max_age = float(math.ceil(HALF_LIVES_OF_AGE * settings.half_life_bars))
        self._decay = 0.5 ** (1.0 / settings.half_life_bars)
        self._events: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def events(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per symbol: when each article became available (ns, ascending) and its score. Read from
        the workspace's news and score stores (the feature context's) on first use (engine.news.timeline)."""
        if self._events is None:
            if self.context.news is None:
                raise FeatureInputsMissing("sentiment: the news it reads is a workspace's: resolve the strategy in one")
            self._events = available_scores(self.context.news, self.context.symbols, self.settings)
        return self._events

    def inputs_fingerprint(self) -> str:
        digest = hashlib.sha256(self.settings.model_dump_json().encode())
        for symbol, (times, scores) in sorted(self.events().items()):
            digest.update(symbol.encode())
            digest.update(times.tobytes())
            digest.update(scores.tobytes())
        return digest.hexdigest()

    def compute(self, bars: Bars) -> np.ndarray:
        closes = bar_closes(bars.timestamps, self.context.timeframe)
        features = np.zeros((len(bars), len(bars.symbols), len(self.columns)))
        rows = np.arange(len(bars))
        for column, symbol in enumerate(bars.symbols):
            times, scores = self.events().get(symbol, (np.array([], dtype=np.int64), np.array([])))
            bar_of = np.searchsorted(closes, times, side="left")  # the first bar closing at or after
            inside = bar_of < len(bars)
            count = np.bincount(bar_of[inside], minlength=len(bars)).astype(np.float64)
            total = np.bincount(bar_of[inside], weights=scores[inside], minlength=len(bars))
            features[:, column, 0] = np.divide(total, count, out=np.zeros(len(bars)), where=count > 0)
            features[:, column, 1] = count
            features[:, column, 2] = _decayed(total, self._decay)
            newest = np.maximum.accumulate(np.where(count > 0, rows, -1))
            features[:, column, 3] = np.where(newest >= 0, np.minimum(rows - newest, self._max_age), self._max_age)
        return features


@njit(cache=True)
def _decayed(totals: np.ndarray, decay: float) -> np.ndarray:
    """Each bar's total carried forward, multiplied by `decay` every bar after."""
    carried, out = 0.0, np.empty_like(totals)
    for row in range(len(totals)):
        carried = carried * decay + totals[row]
        out[row] = carried
    return out


def bar_closes(timestamps: np.ndarray, timeframe: str) -> np.ndarray:
    """When each bar closes, in ns since the epoch (UTC); see the module's docstring."""
    length = bar_length(timeframe)
    starts = pd.DatetimeIndex(timestamps, tz="UTC")
    if length < pd.Timedelta(days=1):
        return (starts + length).asi8
    last_day = (starts + length - pd.Timedelta(days=1)).normalize().tz_localize(None)
    last_day -= pd.to_timedelta(np.maximum(last_day.day_of_week - 4, 0), unit="D")  # a weekend ends on Friday
    return (last_day + EXCHANGE_CLOSE).tz_localize(EXCHANGE_ZONE).tz_convert("UTC").asi8
