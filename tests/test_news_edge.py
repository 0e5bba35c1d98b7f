"""The whole news path finds a planted edge: synthetic news whose tone foretells returns → a
FinBERT-shaped model scoring it (`engine news score`) → the sentiment feature → a model trained
walk-forward → a backtest. With the headlines shuffled among the articles the edge is gone; and
`engine check` finds the sentiment feature causal at every chunk size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.store import DataStore
from engine.news.store import NewsStore
from engine.news.synthetic import HEADLINES, PlantedEdge, synthetic_news
from tests.finbert import TEMPLATES, build_tiny_finbert

SYMBOLS = ("SYN00", "SYN01", "SYN02", "SYN03")
EDGE = PlantedEdge(seed=5, articles_per_bar=0.25, toned=1.0, accuracy=0.9, lead_bars=5)
STRATEGY = """
name = "news_edge"
[data]
symbols = ["SYN00", "SYN01", "SYN02", "SYN03"]
timeframe = "1h"
end = "2021-08-31"
[signal]
kind = "model"
plugin = "mlp"
lookback = 2
features = ["sentiment"]
seed = 7
[signal.feature_settings.sentiment]
model = "{model}"
half_life_bars = 3
[signal.hyperparameters]
hidden = 16
epochs = 8
[signal.labels]
horizon = 5
[signal.walk_forward]
train_bars = 500
predict_bars = 250
[[overlays]]
kind = "threshold"
entry = 0.55
exit = 0.5
"""


@pytest.fixture(scope="module")
def finbert(tmp_path_factory):
    """The tiny FinBERT, taught the sample news's phrasings as well, as the real one would read them."""
    templates = {label: [*TEMPLATES[label], *HEADLINES[label]] for label in TEMPLATES}
    return build_tiny_finbert(tmp_path_factory.mktemp("finbert"), templates=templates, steps=300)


def workspace_with_news(home, store: DataStore, finbert, shuffled: bool) -> None:
    """Four synthetic symbols' bars, their planted news (its headlines shuffled among the articles
    if asked), and a strategy reading its sentiment."""
    frames = {symbol: store.read_table(symbol, "1h").to_pandas() for symbol in SYMBOLS}
    for symbol, frame in frames.items():
        DataStore(home / "data").write(frame, symbol, "1h", origin="synthetic", source="test")
    articles = synthetic_news(frames, pd.Timedelta(hours=1), EDGE)
    if shuffled:
        articles["headline"] = np.random.default_rng(0).permutation(articles["headline"].to_numpy())
    NewsStore(home / "data" / "news").add(articles, "planted news")
    (home / "strategies").mkdir()
    (home / "strategies" / "news_edge.toml").write_text(STRATEGY.replace("{model}", str(finbert)))


@pytest.mark.parametrize("shuffled", [False, True], ids=["planted", "shuffled"])
def test_the_news_path_finds_the_planted_edge_and_none_in_shuffled_news(tmp_path, monkeypatch, store, finbert, cli, shuffled):
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    workspace_with_news(tmp_path, store, finbert, shuffled)
    scored = cli("news", "score", "--model", str(finbert))
    assert scored.returncode == 0, scored.stderr
    trained = cli("train", "--strategy", "news_edge", "--json")
    assert trained.returncode == 0, trained.stderr
    auc = json.loads(trained.stdout.splitlines()[-1])["overall"]["roc_auc"]
    backtest = cli("backtest", "--strategy", "news_edge", "--json")
    assert backtest.returncode == 0, backtest.stderr
    reply = json.loads(backtest.stdout.splitlines()[-1])
    metrics, manifest = reply["metrics"], json.loads((Path(reply["run_dir"]) / "manifest.json").read_text())
    assert set(manifest["feature_inputs"]) == {"sentiment"}  # the news and scores the run read
    if shuffled:
        assert 0.45 < auc < 0.55 and (metrics["sharpe"] or 0.0) < 1.0  # none when it never trades
    else:
        assert auc > 0.6 and metrics["sharpe"] > 2.0 and metrics["net_total_return"] > 0.0
        checked = cli("check", "--strategy", "news_edge")  # chunk sizes 1, 7 and all
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "news_edge is chunk-invariant at chunk sizes 1, 7 and all" in checked.stdout
