"""When each stored article became available to a strategy, and its sentiment score: the input of
the sentiment feature (engine.features.sentiment).

A version's text is known from its `updated_at` (its `created_at` when it was never updated), not
before: an article first stored in a version updated after its publication (Alpaca serves only an
article's latest version) counts from that update, never with a later text at an earlier time. By
default an article counts once, with its first stored version; with `updates = "count"`, each later
version counts again. Either way, `latency_minutes` is added: the time from publication to the
strategy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import FeatureInputsMissing
from engine.features.sentiment_settings import SentimentSettings
from engine.news.model_files import FinbertMissing, locate
from engine.news.scores import ScoreStore
from engine.news.store import NewsStore


class SentimentInputError(FeatureInputsMissing):
    """No news, or news not scored with the strategy's model (or the model is not here)."""


def available_scores(
    news: NewsStore, symbols: tuple[str, ...], settings: SentimentSettings
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per symbol: the times (ns since the epoch, UTC, ascending) articles about it became available,
    and their scores."""
    joined = scored_articles(news, symbols, settings)
    events = {}
    for symbol in symbols:
        about = joined[joined["symbols"] == symbol]
        events[symbol] = (pd.DatetimeIndex(about["available"]).asi8, about["score"].to_numpy(dtype=np.float64))
    return events


def scored_articles(news: NewsStore, symbols: tuple[str, ...], settings: SentimentSettings) -> pd.DataFrame:
    """Each article (version) about `symbols` as the feature counts it: one row per symbol it is about
    (`symbols`), with when it became available (`available`, latency included) and its `score`, in
    the order it became available."""
    scores = ScoreStore(news.root)
    versions = news.versions(list(symbols))
    if versions.empty:
        raise SentimentInputError(
            f"sentiment: no news about {', '.join(symbols)} in {news.path} "
            "(`engine news fetch` or `engine news import` stores some)"
        )
    if settings.updates == "ignore":
        versions = versions.sort_values(["id", "updated_at"], kind="stable").drop_duplicates("id", keep="first")
    versions = versions.assign(available=versions["updated_at"])  # when its text was known
    revision = _revision(scores, settings)
    scored = scores.read(revision, settings.text)[["id", "version", "score"]]
    joined = versions.merge(scored, left_on=["id", "updated_at"], right_on=["id", "version"], how="left")
    unscored = int(joined["score"].isna().sum())
    if unscored:
        raise SentimentInputError(
            f"sentiment: {unscored} of {len(joined)} articles about {', '.join(symbols)} are not scored with "
            f"{settings.model} ({settings.text}): run `engine news score --model {settings.model} --text {settings.text}`"
            f"{_scored_instead(scores, settings)}"
        )
    latency = pd.Timedelta(minutes=settings.latency_minutes)
    joined = joined.assign(available=joined["available"] + latency).explode("symbols")
    joined = joined[joined["symbols"].isin(symbols)]
    return joined.sort_values(["available", "id"], kind="stable")


def _revision(scores: ScoreStore, settings: SentimentSettings) -> str:
    """The revision of the settings' model on this machine; where the model is not here, the one
    revision its stored scores come from."""
    try:
        return locate(settings.model).revision
    except FinbertMissing as missing:
        stored = scores.revisions(settings.model, settings.text)
        if len(stored) == 1:
            return stored[0]
        raise SentimentInputError(f"{missing}{_scored_instead(scores, settings)}") from None


def _scored_instead(scores: ScoreStore, settings: SentimentSettings) -> str:
    """The way out when another model's scores, the only ones, are stored: `--sentiment-model` it."""
    others = [model for model in scores.models(settings.text) if model != settings.model]
    return f"; or backtest with `--sentiment-model {others[0]}`, whose scores are stored" if len(others) == 1 else ""
