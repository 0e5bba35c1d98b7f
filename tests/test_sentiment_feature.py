"""The sentiment feature's causal join: which bar an article reaches, through the real news and
score stores (scores written as `engine news score` writes them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import UserError
from engine.features.base import FeatureContext
from engine.features.sentiment import NewsSentiment, SentimentSettings
from engine.models.walkforward import planned_fold_keys
from engine.news.scores import ScoreStore
from engine.news.store import NewsStore
from engine.signals.cache import PredictionCache
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy, strategy_with_overrides
from engine.strategies.schema import StrategyError
from engine.usecases.backtest import load_bars
from engine.workspace import Workspace

REVISION = "0123456789abcdef"  # scores of a model that is not on this machine: the one stored revision is used
COLUMNS = {name: position for position, name in enumerate(NewsSentiment.columns)}


def publish(home, articles: list[tuple]) -> None:
    """Articles (id, created, symbol, score[, updated, later score]) into the workspace's news store,
    scored as the default model would score them."""
    news, rows, scores = NewsStore(home / "data" / "news"), [], []
    for article in articles:
        article_id, created, symbol, score, *update = article
        versions = [(pd.Timestamp(created, tz="UTC"), score)]
        if update:
            versions.append((pd.Timestamp(update[0], tz="UTC"), update[1]))
        for version, (updated, value) in enumerate(versions):
            rows.append((article_id, versions[0][0], updated, [symbol], f"headline {article_id} v{version}", "", "test", ""))
            scores.append((article_id, updated, value))
    news.add(
        pd.DataFrame(rows, columns=["id", "created_at", "updated_at", "symbols", "headline", "summary", "source", "url"]), "test"
    )
    frame = pd.DataFrame(scores, columns=["id", "version", "score"])
    ScoreStore(news.root).add(
        frame.assign(
            model="ProsusAI/finbert",
            revision=REVISION,
            text="both",
            positive=np.clip(frame["score"], 0, 1),
            negative=np.clip(-frame["score"], 0, 1),
            neutral=1 - frame["score"].abs(),
        )
    )


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return tmp_path


def features(home, store, symbols: tuple[str, ...], timeframe: str, start: str, end: str, **settings) -> pd.DataFrame:
    """The feature rows of the bars from `start` to `end`, the first symbol's, by bar time."""
    bars = store.load(list(symbols), timeframe, pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    provider = NewsSentiment(SentimentSettings(**settings), FeatureContext(symbols, timeframe, Workspace(home).news))
    values = provider.compute(bars)[:, 0, :]
    return pd.DataFrame(values, index=bars.index(), columns=NewsSentiment.columns)


def test_an_article_reaches_the_first_bar_closing_at_or_after_it_plus_the_latency(home, store):
    publish(
        home,
        [
            (1, "2021-03-02 15:29:59", "SYN00", 0.5),  # a second before the 14:30 bar's close
            (2, "2021-03-02 15:30:01", "SYN00", -0.25),  # a second after it: the 15:30 bar
            (3, "2021-03-02 17:29:00", "SYN00", 1.0),  # with a minute's latency: at the 16:30 bar's close
            (4, "2021-03-02 17:29:30", "SYN00", -1.0),  # with a minute's latency: after it
        ],
    )
    rows = features(home, store, ("SYN00",), "1h", "2021-03-02 14:30", "2021-03-02 17:30")
    assert rows["count"].tolist() == [1, 1, 2, 0]
    assert rows["mean"].tolist() == [0.5, -0.25, 0.0, 0.0]
    late = features(home, store, ("SYN00",), "1h", "2021-03-02 14:30", "2021-03-02 17:30", latency_minutes=1)
    assert late["count"].tolist() == [0, 2, 1, 1]  # a minute later, each reaches the bar closing at or after
    assert late["mean"].tolist() == [0.0, 0.125, 1.0, -1.0]


def test_friday_evening_news_reaches_monday_and_decays_over_the_weekend(home, store):
    publish(home, [(1, "2021-03-05 21:30:01", "SYN00", 0.8)])  # after Friday's last close (20:30 + 1h)
    rows = features(home, store, ("SYN00",), "1h", "2021-03-05 19:30", "2021-03-08 16:30", half_life_bars=2)
    friday, monday = rows.loc["2021-03-05"], rows.loc["2021-03-08"]
    assert friday["count"].sum() == 0 and (friday["decayed"] == 0).all()
    assert monday["count"].tolist() == [1, 0, 0]
    assert monday["decayed"].to_numpy() == pytest.approx([0.8, 0.8 * 0.5**0.5, 0.8 * 0.5])  # halves every 2 bars
    assert monday["age"].tolist() == [0, 1, 2]


def test_daily_bars_close_at_four_in_new_york_across_daylight_saving_and_holidays(home, store):
    publish(
        home,
        [
            (1, "2018-03-09 20:30:00", "SP500", 0.1),  # Friday, EST: before the 21:00 UTC close
            (2, "2018-03-12 20:30:00", "SP500", 0.2),  # Monday, EDT: after the 20:00 UTC close, so Tuesday
            (3, "2018-03-13 19:59:59", "SP500", 0.3),  # Tuesday, a second before the close
            (4, "2018-07-04 12:00:00", "SP500", 0.4),  # Independence Day: no bar, so Thursday the 5th
        ],
    )
    rows = features(home, store, ("SP500",), "1d", "2018-03-08", "2018-07-06")
    with_news = rows[rows["count"] > 0]
    assert [f"{day:%Y-%m-%d}" for day in with_news.index] == ["2018-03-09", "2018-03-13", "2018-07-05"]
    assert with_news["mean"].tolist() == pytest.approx([0.1, 0.25, 0.4])


def test_an_updated_article_counts_from_its_first_publication_with_its_first_text(home, store):
    publish(home, [(1, "2021-03-02 15:00:00", "SYN00", 0.6, "2021-03-02 17:00:00", -0.9)])
    first = features(home, store, ("SYN00",), "1h", "2021-03-02 14:30", "2021-03-02 17:30")
    assert first["mean"].tolist() == [0.6, 0, 0, 0]
    counted = features(home, store, ("SYN00",), "1h", "2021-03-02 14:30", "2021-03-02 17:30", updates="count")
    assert counted["mean"].tolist() == [0.6, 0, -0.9, 0]


def test_an_article_stored_only_in_a_later_version_counts_from_that_version_never_earlier(home, store):
    """What was known then: the article published at 15:00 is stored only as revised at 17:00 (Alpaca
    serves the latest version), so its revised text reaches the 16:30 bar, not the 14:30 one."""
    news = NewsStore(home / "data" / "news")
    created, revised = pd.Timestamp("2021-03-02 15:00", tz="UTC"), pd.Timestamp("2021-03-02 17:00", tz="UTC")
    row = (9, created, revised, ["SYN00"], "Revised: shares fall", "", "test", "")
    news.add(
        pd.DataFrame([row], columns=["id", "created_at", "updated_at", "symbols", "headline", "summary", "source", "url"]), "test"
    )
    scores = pd.DataFrame({"id": [9], "version": [revised], "score": [-0.9]})
    ScoreStore(news.root).add(
        scores.assign(model="ProsusAI/finbert", revision=REVISION, text="both", positive=0.0, negative=0.9, neutral=0.1)
    )
    for updates in ("ignore", "count"):
        rows = features(home, store, ("SYN00",), "1h", "2021-03-02 14:30", "2021-03-02 17:30", updates=updates)
        assert rows["count"].tolist() == [0, 0, 1, 0] and rows["mean"].tolist() == [0, 0, -0.9, 0], updates


def test_the_features_do_not_depend_on_where_the_bars_start(home, store):
    rng = np.random.default_rng(3)
    times = pd.Timestamp("2021-03-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 60 * 86400, 300), unit="s")
    publish(home, [(i + 1, f"{time:%Y-%m-%d %H:%M:%S}", "SYN00", float(rng.uniform(-1, 1))) for i, time in enumerate(times)])
    full = features(home, store, ("SYN00",), "1h", "2021-01-04", "2021-06-30")
    provider = NewsSentiment(SentimentSettings(), FeatureContext(("SYN00",), "1h", Workspace(home).news))
    late = features(home, store, ("SYN00",), "1h", str(full.index[-provider.history - 40]), "2021-06-30")
    pd.testing.assert_frame_equal(late.iloc[-40:], full.iloc[-40:], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"half_life_bars": 0}, "signal.feature_settings.sentiment.half_life_bars: Input should be greater than 0"),
        ({"latency": 5}, "signal.feature_settings.sentiment.latency: Extra inputs are not permitted"),
        ({"text": "body"}, "signal.feature_settings.sentiment.text: Input should be 'both', 'headline' or 'summary'"),
    ],
)
def test_bad_settings_name_the_field(settings, problem):
    strategy = load_strategy("gru93_news")
    table = strategy.signal.feature_settings["sentiment"] | settings
    changed = strategy.with_overrides(signal={"feature_settings": {"sentiment": table}})
    with pytest.raises(StrategyError, match=problem.replace("(", r"\(")):
        resolve_strategy(changed)


def test_news_not_scored_or_a_model_not_here_is_one_line_saying_what_to_do(home):
    publish(home, [(1, "2021-03-02 15:00:00", "SYN00", 0.5)])
    NewsStore(home / "data" / "news").add(
        pd.DataFrame(
            [(2, "2021-03-02 16:00", "2021-03-02 16:00", ["SYN00"], "SYN00 misses estimates", "", "test", "")],
            columns=["id", "created_at", "updated_at", "symbols", "headline", "summary", "source", "url"],
        ),
        "test",
    )
    unscored = NewsSentiment(SentimentSettings(), FeatureContext(("SYN00",), "1h", Workspace(home).news))
    with pytest.raises(UserError, match=r"1 of 2 articles about SYN00 are not scored with ProsusAI/finbert \(both\): run "):
        unscored.inputs_fingerprint()
    elsewhere = NewsSentiment(
        SentimentSettings(model=str(home / "no-model")), FeatureContext(("SYN00",), "1h", Workspace(home).news)
    )
    with pytest.raises(UserError, match=str(home / "no-model")):
        elsewhere.inputs_fingerprint()


def test_changed_news_or_scores_make_new_fold_and_prediction_keys(home, store):
    publish(home, [(1, "2021-03-02 15:00:00", "SYN00", 0.5), (2, "2021-03-03 15:00:00", "SYN01", -0.5)])
    strategy = load_strategy("gru93_news").with_overrides(data={"symbols": ["SYN00", "SYN01"], "end": "2021-12-31"})
    bars = load_bars(strategy, store)

    def keys() -> tuple[list[str], str]:
        setup = resolve_strategy(strategy, workspace=Workspace(home)).model
        return planned_fold_keys(setup, bars), PredictionCache(home / "predictions").key(setup, bars)

    before = keys()
    assert keys() == before  # the same news and scores: the same keys
    publish(home, [(3, "2021-06-01 15:00:00", "SYN00", 0.9)])
    with_more_news = keys()
    scores = ScoreStore(home / "data" / "news")
    rescored = pd.read_parquet(scores.path).assign(score=lambda frame: -frame["score"])
    scores.path.unlink()
    scores.add(rescored)
    with_other_scores = keys()
    assert len({str(before), str(with_more_news), str(with_other_scores)}) == 3
    assert all(set(before[0]).isdisjoint(other[0]) for other in (with_more_news, with_other_scores))


def test_the_sentiment_model_is_chosen_at_the_command_line_and_an_unscored_one_names_the_stored(home, store):
    """`engine backtest --sentiment-model M` reads M's scores (the strategy's other settings kept); a
    model whose scores are missing is told which model's are stored."""
    publish(home, [(1, "2021-03-02 15:00:00", "SYN00", 0.5)])  # scored as ProsusAI/finbert, a revision not here
    workspace = Workspace(home)
    chosen = strategy_with_overrides("gru93_news", workspace, sentiment_model="ProsusAI/finbert").strategy
    assert chosen.signal.feature_settings["sentiment"] == load_strategy("gru93_news").signal.feature_settings["sentiment"]
    local = strategy_with_overrides("gru93_news", workspace, sentiment_model=str(home / "tiny")).strategy
    settings = local.signal.feature_settings["sentiment"]
    assert settings["model"] == str(home / "tiny") and settings["half_life_bars"] == 7 and settings["latency_minutes"] == 1
    provider = NewsSentiment(SentimentSettings(**settings), FeatureContext(("SYN00",), "1h", workspace.news))
    with pytest.raises(UserError, match=r"; or backtest with `--sentiment-model ProsusAI/finbert`, whose scores are stored$"):
        provider.inputs_fingerprint()
    with pytest.raises(StrategyError, match=r"^--sentiment-model: strategy sma_cross has no sentiment feature$"):
        strategy_with_overrides("sma_cross", workspace, sentiment_model="ProsusAI/finbert")
