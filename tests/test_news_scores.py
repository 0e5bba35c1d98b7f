"""`engine news score`: FinBERT sentiment of every stored article version, through transformers, on a
tiny FinBERT built here (tests/finbert.py) and found the way the real one is: a saved folder, or
ProsusAI/finbert in the Hugging Face cache with no network."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from engine.errors import UserError
from engine.news.finbert import FinbertBroken, Scorer
from engine.news.model_files import locate
from engine.news.scores import ScoreStore, score_articles
from engine.news.store import NewsStore
from tests.finbert import TEMPLATES, build_tiny_finbert, headlines, install_in_hf_cache
from tests.in_process import engine_here

HELD_OUT = ["IBM", "KO", "PEP"]  # symbols the model never saw in training


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    return build_tiny_finbert(tmp_path_factory.mktemp("tiny-finbert"))


@pytest.fixture(scope="session")
def reordered(tiny, tmp_path_factory):
    """The tiny model with its outputs in another order (and capitalised labels): classifier rows
    permuted to match, so it is the same model under other indices."""
    folder = tmp_path_factory.mktemp("reordered-finbert")
    model = AutoModelForSequenceClassification.from_pretrained(tiny)
    order = ["neutral", "positive", "negative"]
    rows = [model.config.label2id[label] for label in order]
    with torch.no_grad():
        model.classifier.weight.copy_(model.classifier.weight[rows])
        model.classifier.bias.copy_(model.classifier.bias[rows])
    model.config.id2label = {index: label.capitalize() for index, label in enumerate(order)}
    model.config.label2id = {label.capitalize(): index for index, label in enumerate(order)}
    model.save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(tiny / name, folder / name)
    return folder


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def engine(home, monkeypatch, capsys):
    return lambda *args: engine_here(monkeypatch, capsys, *args)


def store_articles(home, articles: list[tuple[str, str]], updated: dict[int, str] | None = None) -> NewsStore:
    """Articles 1, 2, … with these (headline, summary); `updated`: id -> a later headline, stored as a
    second version of that article."""
    news = NewsStore(home / "data" / "news")

    def frame(rows, time):
        return pd.DataFrame(
            {"id": [number for number, _, _ in rows], "created_at": "2024-01-02T14:30:00Z", "updated_at": time,
             "symbols": [["IBM"]] * len(rows), "headline": [headline for _, headline, _ in rows],
             "summary": [summary for _, _, summary in rows], "source": "test", "url": ""}
        )  # fmt: skip

    news.add(frame([(number, *article) for number, article in enumerate(articles, start=1)], "2024-01-02T14:30:00Z"), "test")
    if updated:
        news.add(frame([(number, headline, "") for number, headline in updated.items()], "2024-01-03T09:00:00Z"), "test")
    return news


def test_the_tiny_model_tells_good_news_from_bad_on_symbols_it_never_saw(tiny):
    scorer = Scorer(locate(str(tiny)), device="cpu", batch_size=4)
    probabilities = {label: scorer.score(headlines(label, HELD_OUT)) for label in TEMPLATES}
    assert all(np.allclose(rows.sum(axis=1), 1.0) for rows in probabilities.values())
    assert (probabilities["positive"][:, 0] - probabilities["positive"][:, 1] > 0.5).all()
    assert (probabilities["negative"][:, 0] - probabilities["negative"][:, 1] < -0.5).all()
    assert (probabilities["neutral"][:, 2] > 0.5).all()
    assert scorer.score([]).shape == (0, 3)


@pytest.mark.parametrize("variable", ["HF_HUB_CACHE", "HF_HOME"])
def test_a_repo_id_is_found_in_the_hugging_face_cache_without_network(tiny, tmp_path, monkeypatch, variable):
    cache = tmp_path / "hub"
    install_in_hf_cache(tiny, cache)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv(variable, str(cache if variable == "HF_HUB_CACHE" else tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached = locate("ProsusAI/finbert")
    assert cached.id == "ProsusAI/finbert" and cached.folder.parent == cache / "models--ProsusAI--finbert" / "snapshots"
    assert cached.revision == locate(str(tiny)).revision
    text = headlines("positive", HELD_OUT[:1])
    assert np.array_equal(Scorer(cached, "cpu").score(text), Scorer(locate(str(tiny)), "cpu").score(text))


def test_labels_are_read_from_the_models_config_not_assumed(tiny, reordered, tmp_path):
    texts = [text for label in TEMPLATES for text in headlines(label, HELD_OUT)]
    ours, theirs = locate(str(tiny)), locate(str(reordered))
    assert ours.revision != theirs.revision
    assert np.allclose(Scorer(ours, "cpu").score(texts), Scorer(theirs, "cpu").score(texts), atol=1e-6)

    unnamed = tmp_path / "unnamed"
    shutil.copytree(tiny, unnamed)
    config = (unnamed / "config.json").read_text()
    (unnamed / "config.json").write_text(config.replace('"positive"', '"LABEL_0"').replace('"negative"', '"LABEL_1"'))
    with pytest.raises(FinbertBroken, match=r"unnamed: labels LABEL_0, LABEL_1, neutral; FinBERT scoring needs positive"):
        Scorer(locate(str(unnamed)), "cpu")


def test_a_missing_model_is_one_line_saying_where_it_was_looked_for(engine, home, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    result = engine("news", "score")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(
        f"error: ProsusAI/finbert: not a folder here nor in the Hugging Face cache {tmp_path / 'empty-cache'}"
    )
    assert "`hf download ProsusAI/finbert`" in result.stderr and "--model PATH" in result.stderr
    missing = engine("news", "score", "--model", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.startswith(f"error: {tmp_path / 'nowhere'}: no such folder")


def test_a_broken_model_is_one_line_naming_its_folder(tiny, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    (broken / "model.safetensors").write_bytes((broken / "model.safetensors").read_bytes()[:100])
    with pytest.raises(FinbertBroken, match=rf"^{broken}: cannot load the model \(") as error:
        Scorer(locate(str(broken)), "cpu")
    assert "\n" not in str(error.value)


def test_scoring_again_scores_nothing_and_another_model_scores_beside_the_first(engine, home, tiny, reordered):
    store_articles(
        home, [(text, "") for text in headlines("positive", HELD_OUT)], updated={1: "IBM misses estimates and cuts outlook"}
    )
    first = engine("news", "score", "--model", str(tiny))
    assert first.returncode == 0, first.stderr
    revision = locate(str(tiny)).revision
    assert first.stdout.startswith(f"scored 13 articles with {tiny} (revision {revision}), 0 already scored, ")
    assert first.stdout.rstrip().endswith(" articles/s")
    again = engine("news", "score", "--model", str(tiny))
    assert again.stdout == f"scored 0 articles with {tiny} (revision {revision}), 13 already scored\n"
    assert engine("news", "score", "--model", str(reordered)).stdout.startswith(f"scored 13 articles with {reordered} ")

    scores = ScoreStore(home / "data" / "news")
    ours, theirs = scores.read(revision, "both"), scores.read(locate(str(reordered)).revision, "both")
    assert len(ours) == len(theirs) == 13 and set(ours["model"]) == {str(tiny)}
    assert np.allclose(ours["score"], theirs["score"], atol=1e-6)
    assert np.allclose(ours["score"], ours["positive"] - ours["negative"])
    first_version, updated = ours[ours["id"] == 1].sort_values("version")["score"]
    assert first_version > 0.5 and updated < -0.5


def test_an_interrupted_run_keeps_what_it_saved_and_the_next_scores_the_rest(home, tiny, monkeypatch):
    news = store_articles(home, [(text, "") for text in headlines("negative", HELD_OUT[:2])])
    scores, model = ScoreStore(news.root), locate(str(tiny))
    scorer = Scorer(model, "cpu", batch_size=2)
    calls, score = [], scorer.score

    def fail_on_third_batch(texts):
        calls.append(texts)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return score(texts)

    monkeypatch.setattr(scorer, "score", fail_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        score_articles(news, scores, scorer, save_every=2)
    assert sorted(scores.read(model.revision, "both")["id"]) == [1, 2, 3, 4]
    rest = score_articles(news, scores, Scorer(model, "cpu", batch_size=2), save_every=2)
    assert (rest.scored, rest.already) == (4, 4)
    assert sorted(scores.read(model.revision, "both")["id"]) == list(range(1, 9))


def test_headline_and_summary_are_scored_apart_and_averaged(engine, home, tiny):
    good, bad = headlines("positive", ["IBM"])[0], headlines("negative", ["IBM"])[0]
    store_articles(home, [(good, bad), (good, "")])
    assert engine("news", "score", "--model", str(tiny)).returncode == 0
    assert engine("news", "score", "--model", str(tiny), "--text", "headline").stdout.startswith("scored 2 articles")
    scorer = Scorer(locate(str(tiny)), "cpu")
    alone, summary = scorer.score([good, bad])
    scores = ScoreStore(home / "data" / "news")
    both, headline = (scores.read(scorer.model.revision, text).set_index("id") for text in ("both", "headline"))
    assert np.allclose(both.loc[1, ["positive", "negative", "neutral"]], (alone + summary) / 2, atol=1e-6)
    assert both.loc[1, "score"] < 0.5 < headline.loc[1, "score"]
    assert np.isclose(both.loc[2, "score"], headline.loc[2, "score"], atol=1e-6)  # no summary: the headline alone


def test_a_damaged_scores_file_is_one_line_naming_it(engine, home, tiny):
    store_articles(home, [(headlines("neutral", ["IBM"])[0], "")])
    path = home / "data" / "news" / "scores.parquet"
    path.write_bytes(b"not parquet")
    result = engine("news", "score", "--model", str(tiny))
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # after the stages' lines
    assert result.returncode == 2 and len(errors) == 1
    assert errors[0].startswith(f"error: {path}: damaged, not a readable scores file")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused(tiny):
    with pytest.raises(UserError, match="device cuda: torch finds no CUDA GPU"):
        Scorer(locate(str(tiny)), "cuda")
