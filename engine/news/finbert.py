"""FinBERT (ProsusAI/finbert, or any BERT classifier with positive, negative and neutral labels)
loaded through transformers, scoring texts in batches. Finding the model: engine.news.model_files.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from safetensors import SafetensorError
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as transformers_logging

from engine import progress
from engine.errors import UserError
from engine.news.model_files import LABELS, FinbertModel

LONGEST_INPUT = 512  # tokens: BERT's position embeddings


class FinbertBroken(UserError):
    """The model is there but cannot score: unreadable files, other labels, a device this machine lacks."""


class Scorer:
    """A located model, loaded for inference: `score` gives each text's positive, negative and
    neutral probabilities. `device`: auto (CUDA when torch sees a GPU, else the CPU), cpu or cuda."""

    def __init__(self, model: FinbertModel, device: str = "auto", batch_size: int = 32) -> None:
        if batch_size < 1:
            raise UserError(f"batch size {batch_size}: score at least one text at a time")
        self.model = model
        self.batch_size = batch_size
        self.device = _device(device)
        progress.stage(f"loading {model.id}")
        try:
            with _no_progress_bars():
                self.tokenizer = AutoTokenizer.from_pretrained(model.folder, local_files_only=True)
                self.network = AutoModelForSequenceClassification.from_pretrained(model.folder, local_files_only=True)
        except (OSError, ValueError, KeyError, RuntimeError, EOFError, pickle.UnpicklingError, SafetensorError) as error:
            raise FinbertBroken(f"{model.folder}: cannot load the model ({' '.join(str(error).split())})") from None
        self.network.eval().to(self.device)
        self.columns = _label_columns(model, self.network.config.id2label)
        # The tokenizer's limit may be unset (a huge number); the model cannot read past its positions.
        positions = getattr(self.network.config, "max_position_embeddings", LONGEST_INPUT)
        self.max_length = min(self.tokenizer.model_max_length, positions, LONGEST_INPUT)

    def score(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one row per text, columns LABELS (positive, negative, neutral)."""
        scored = np.empty((len(texts), len(LABELS)))
        # Texts of like length share a batch, so short headlines are not padded to a long summary's length.
        order = np.argsort([len(text) for text in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = order[start : start + self.batch_size]
                inputs = self.tokenizer(
                    [texts[i] for i in batch], truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
                ).to(self.device)
                probabilities = torch.softmax(self.network(**inputs).logits.float(), dim=-1)
                scored[batch] = probabilities[:, self.columns].cpu().numpy()
        return scored


def _device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested not in ("cpu", "cuda"):
        raise UserError(f"device {requested!r}: use auto, cpu or cuda")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("device cuda: torch finds no CUDA GPU on this machine (use cpu or auto)")
    return torch.device(requested)


def _label_columns(model: FinbertModel, id2label: dict) -> list[int]:
    """The model's output index of each of LABELS, by its config's names (models differ in order)."""
    index = {str(name).lower(): int(position) for position, name in id2label.items()}
    if not set(LABELS) <= index.keys():
        named = ", ".join(str(id2label[key]) for key in sorted(id2label))
        raise FinbertBroken(f"{model.id}: labels {named}; FinBERT scoring needs positive, negative and neutral")
    return [index[label] for label in LABELS]


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers draws a tqdm bar while loading weights; the engine's own display says what is going on."""
    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            transformers_logging.enable_progress_bar()
