"""Sentiment scores of the stored news (`data/news/scores.parquet`): one row per article version,
model revision and text scored, with FinBERT's positive, negative and neutral probabilities and
score = positive - negative.

Every stored version of an article is scored, so a feature can read the text as first published
or as last updated. A row is kept by (id, version, revision, text): scoring again with the same
model and text does nothing, another model (or the same one fine-tuned again) scores beside it.
Scores are saved every few hundred articles, each save written whole (engine.stores.files.atomic_write),
so an interrupted run keeps what it scored and the next one scores only the rest.

Which text: FinBERT was fine-tuned on single sentences from financial news (the Financial
PhraseBank), and a headline and its summary are separate statements. Joining them into one input
mixes the two and lets truncation cut the summary; so by default ("both") each is scored on its
own, within what the model was trained on, and their probabilities are averaged, weighing them
equally (an article without a summary: its headline alone). "headline" scores headlines only;
"summary" summaries only, the headline where an article has none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine import progress
from engine.analytics.formatting import counted
from engine.errors import UserError
from engine.news.model_files import LABELS, FinbertModel
from engine.news.store import NewsStore
from engine.stores.files import atomic_write

if TYPE_CHECKING:  # loading the model needs torch and transformers; reading scores does not
    from engine.news.finbert import Scorer

TEXTS = ("both", "headline", "summary")
KEY = ["id", "version", "revision", "text"]
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("version", pa.timestamp("ns", tz="UTC")),  # the article version's updated_at
        ("model", pa.string()),  # as the user named it: a repo id or a folder
        ("revision", pa.string()),
        ("text", pa.string()),
        *((column, pa.float64()) for column in (*LABELS, "score")),
    ]
)
COLUMNS = SCHEMA.names


class ScoreError(UserError, ValueError):
    """The scores file cannot be read, or scoring was asked for something it cannot do."""


@dataclass(frozen=True)
class ScoredCount:
    """What a scoring run did: article versions scored now, those scored before, seconds spent."""

    scored: int
    already: int
    seconds: float


class ScoreStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def path(self) -> Path:
        return self.root / "scores.parquet"

    def read(self, revision: str, text: str) -> pd.DataFrame:
        """The scores of one model revision and text choice, by id, then version."""
        stored = self._all()
        chosen = stored[(stored["revision"] == revision) & (stored["text"] == text)]
        return chosen.sort_values(["id", "version"], kind="stable").reset_index(drop=True)

    def revisions(self, model: str, text: str) -> list[str]:
        """The revisions of the model named `model` that scored with `text`, as stored."""
        stored = self._all()
        return sorted(stored.loc[(stored["model"] == model) & (stored["text"] == text), "revision"].unique())

    def models(self, text: str) -> list[str]:
        """The models (as named when they scored) with scores for `text` stored."""
        stored = self._all()
        return sorted(stored.loc[stored["text"] == text, "model"].unique())

    def scored(self, revision: str, text: str) -> pd.MultiIndex:
        """The (id, version) of the article versions already scored with `revision` and `text`."""
        chosen = self.read(revision, text)
        return pd.MultiIndex.from_arrays([chosen["id"], chosen["version"]])

    def add(self, frame: pd.DataFrame) -> int:
        """Merge scores (COLUMNS) into the file; a key already there keeps its stored scores. Returns
        how many rows were new."""
        stored = self._all()
        merged = pd.concat([stored, frame[COLUMNS]], ignore_index=True) if len(stored) else frame[COLUMNS]
        merged = merged.drop_duplicates(KEY, keep="first").sort_values(["revision", "text", "id", "version"], kind="stable")
        table = pa.Table.from_pandas(merged, schema=SCHEMA, preserve_index=False)
        atomic_write(self.path, lambda tmp: pq.write_table(table, tmp))
        return len(merged) - len(stored)

    def _all(self) -> pd.DataFrame:
        if not self.path.exists():
            return SCHEMA.empty_table().to_pandas()
        try:
            return pq.read_table(self.path, schema=SCHEMA).to_pandas()
        except (OSError, pa.ArrowException) as error:
            raise ScoreError(f"{self.path}: damaged, not a readable scores file ({' '.join(str(error).split())})") from None


def score_articles(news: NewsStore, scores: ScoreStore, scorer: Scorer, text: str = "both", save_every: int = 256) -> ScoredCount:
    """Score every stored article version not yet scored with the scorer's model revision and
    `text` (see the module's docstring), saving every `save_every` articles."""
    if text not in TEXTS:
        raise ScoreError(f"text {text!r}: score one of {', '.join(TEXTS)}")
    model = scorer.model
    versions = news.versions()
    done = pd.MultiIndex.from_arrays([versions["id"], versions["updated_at"]]).isin(scores.scored(model.revision, text))
    pending = versions[~done]
    progress.stage(f"scoring {counted(len(pending), 'article')} with {model.id}", len(pending), "article")
    started, unsaved = time.perf_counter(), []
    for start in range(0, len(pending), scorer.batch_size):
        articles = pending.iloc[start : start + scorer.batch_size]
        unsaved.append(_rows(articles, model, text, _probabilities(articles, scorer, text)))
        progress.advance(len(articles))
        if sum(map(len, unsaved)) >= save_every:
            scores.add(pd.concat(unsaved, ignore_index=True))
            unsaved = []
    if unsaved:
        scores.add(pd.concat(unsaved, ignore_index=True))
    return ScoredCount(len(pending), len(versions) - len(pending), time.perf_counter() - started)


def _rows(articles: pd.DataFrame, model: FinbertModel, text: str, probabilities: np.ndarray) -> pd.DataFrame:
    rows = pd.DataFrame({"id": articles["id"], "version": articles["updated_at"]}).reset_index(drop=True)
    rows = rows.assign(model=model.id, revision=model.revision, text=text, **dict(zip(LABELS, probabilities.T, strict=True)))
    return rows.assign(score=rows["positive"] - rows["negative"])


def _probabilities(articles: pd.DataFrame, scorer: Scorer, text: str) -> np.ndarray:
    headlines, summaries = articles["headline"], articles["summary"]
    has_summary = (summaries.str.strip() != "").to_numpy()
    if text == "headline":
        return scorer.score(headlines.tolist())
    if text == "summary":
        return scorer.score(summaries.where(has_summary, headlines).tolist())
    # Headlines and summaries in one call, so they share batches.
    scored = scorer.score(headlines.tolist() + summaries[has_summary].tolist())
    both = scored[: len(articles)]
    both[has_summary] = (both[has_summary] + scored[len(articles) :]) / 2
    return both
