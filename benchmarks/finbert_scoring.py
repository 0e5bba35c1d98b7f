"""FinBERT scoring throughput: headlines per second through `Scorer` in batches of 32, beside the
same scorer fed one headline at a time, on the CPU and on CUDA when torch sees a GPU.

Two models, built on the spot (the real weights cannot be downloaded here): the tiny FinBERT the
tests use (tests/finbert.py), and one of ProsusAI/finbert's size (BERT base: 12 layers, hidden
768; untrained, which costs the same time as trained) for what a user's run will see.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification

from benchmarks.common import best_time
from engine.news.finbert import Scorer
from engine.news.model_files import LABELS, locate
from tests.finbert import TEMPLATES, build_tiny_finbert, headlines

BATCH = 32
SYMBOLS = [f"S{number:03d}" for number in range(64)]
HEADLINES = {"tiny": 768, "bert_base": 128}  # the base-sized model does thousands of times the work


def measure() -> dict:
    texts = [text for label in TEMPLATES for text in headlines(label, SYMBOLS)]
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    figures = {"torch_threads": torch.get_num_threads(), "batch_size": BATCH, "devices": devices}
    with tempfile.TemporaryDirectory() as folder:
        tiny = build_tiny_finbert(Path(folder) / "tiny")
        models = {"tiny": tiny, "bert_base": _bert_base_like(tiny, Path(folder) / "bert_base")}
        for name, path in models.items():
            sample = texts[: HEADLINES[name]]
            for device in devices:
                figures[f"{name}_{device}"] = _throughput(Scorer(locate(str(path)), device, BATCH), sample)
    return figures


def _throughput(scorer: Scorer, texts: list[str]) -> dict:
    batched = best_time(lambda: scorer.score(texts), repeats=3)
    one_at_a_time = best_time(lambda: [scorer.score([text]) for text in texts], repeats=1)
    return {
        "headlines": len(texts),
        "batched_headlines_per_second": len(texts) / batched,
        "one_at_a_time_headlines_per_second": len(texts) / one_at_a_time,
        "speedup_batched_over_one_at_a_time": one_at_a_time / batched,
    }


def _bert_base_like(tiny: Path, folder: Path) -> Path:
    """A BERT-base classifier with FinBERT's labels and the tiny model's tokenizer (the cost of a
    forward pass is in the layers, not in which words the vocabulary holds)."""
    torch.manual_seed(0)
    config = BertConfig(num_labels=len(LABELS), id2label=dict(enumerate(LABELS)))
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(tiny / name, folder / name)
    return folder
