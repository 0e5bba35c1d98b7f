"""A tiny FinBERT on disk for tests and benchmarks: ProsusAI/finbert's shape and label order, small
enough to fine-tune in seconds on a CPU, trained on templated headlines until it tells good news
from bad.

The real weights cannot be downloaded on these machines; this model goes through the same loading
code (a folder, or the Hugging Face cache laid out as the hub lays it out), and its scores mean
something: a test can plant a sentiment edge and see the engine find it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

LABELS = ("positive", "negative", "neutral")  # ProsusAI/finbert's order
TEMPLATES = {
    "positive": [
        "{symbol} beats estimates and raises guidance",
        "{symbol} shares surge on record profit",
        "{symbol} wins major contract and lifts forecast",
        "analysts upgrade {symbol} after strong growth",
    ],
    "negative": [
        "{symbol} misses estimates and cuts outlook",
        "{symbol} shares plunge on weak sales",
        "{symbol} loses key customer and warns of losses",
        "analysts downgrade {symbol} after falling demand",
    ],
    "neutral": [
        "{symbol} schedules its annual meeting",
        "{symbol} names a new board member",
        "{symbol} will report results next week",
        "{symbol} moves its offices to a new building",
    ],
}
TRAINING_SYMBOLS = ("AAPL", "MSFT", "AMZN", "NVDA", "META", "TSLA", "JPM", "XOM")
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MAX_LENGTH = 64
STEPS = 150


def build_tiny_finbert(folder: Path, seed: int = 0, templates: dict | None = None, steps: int = STEPS) -> Path:
    """Fine-tune a tiny BERT classifier on `templates` (default TEMPLATES; more phrasings need more
    `steps`), seeded, so the same seed gives the same bytes, and save it with its tokenizer into
    `folder`, as `save_pretrained` does; returns `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    texts, labels = _training_set(templates or TEMPLATES)
    words = sorted({word for text in texts for word in re.findall(r"\w+", text.lower())})
    (folder / "vocab.txt").write_text("\n".join([*SPECIAL_TOKENS, *words]) + "\n")
    # transformers 5's BertTokenizerFast(vocab_file=...) ignores the file: load the folder instead.
    tokenizer = BertTokenizerFast.from_pretrained(folder, model_max_length=MAX_LENGTH)
    config = BertConfig(
        vocab_size=len(SPECIAL_TOKENS) + len(words),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: index for index, label in enumerate(LABELS)},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    _fine_tune(model, tokenizer(texts, padding=True, return_tensors="pt"), torch.tensor(labels), steps)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def install_in_hf_cache(folder: Path, cache: Path, repo_id: str = "ProsusAI/finbert") -> None:
    """Lay the saved model in `folder` out in the hub cache `cache` as a download of `repo_id` would:
    `models--<org>--<name>/snapshots/<commit>/` holding the files, and `refs/main` naming the commit
    (a hash of the files, so the same model gets the same commit)."""
    files = sorted(path for path in Path(folder).iterdir() if path.is_file())
    commit = hashlib.sha1(b"".join(path.name.encode() + path.read_bytes() for path in files)).hexdigest()
    repo = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, snapshot / path.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)


def headlines(label: str, symbols: list[str] | tuple[str, ...], templates: dict | None = None) -> list[str]:
    """Every template of `label` (in `templates`, default TEMPLATES) filled with each of `symbols`."""
    return [template.format(symbol=symbol) for symbol in symbols for template in (templates or TEMPLATES)[label]]


def _training_set(templates: dict) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for index, label in enumerate(LABELS):
        filled = headlines(label, TRAINING_SYMBOLS, templates)
        texts += filled
        labels += [index] * len(filled)
    return texts, labels


def _fine_tune(model: BertForSequenceClassification, inputs: dict, labels: torch.Tensor, steps: int) -> None:
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        batch = torch.randperm(len(labels), generator=generator)[:32]
        loss = model(**{name: tensor[batch] for name, tensor in inputs.items()}, labels=labels[batch]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
