"""FinBERT (ProsusAI/finbert, or any BERT classifier with positive, negative and neutral labels):
found on this machine, loaded through transformers, scoring texts in batches.

Weights are never downloaded here: a model is a saved folder (`save_pretrained`) or a Hugging Face
repo id already in the local hub cache. Missing is a one-line error saying where it was looked for
and how to bring it, never a quiet fall back to another scorer.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import snapshot_download
from huggingface_hub.errors import HFValidationError, IncompleteSnapshotError, LocalEntryNotFoundError
from huggingface_hub.utils import validate_repo_id
from safetensors import SafetensorError
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as transformers_logging

from engine import progress
from engine.errors import UserError

DEFAULT_MODEL = "ProsusAI/finbert"
LABELS = ("positive", "negative", "neutral")  # the columns of Scorer.score, whatever the model's order
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")  # transformers loads safetensors when both are there
LONGEST_INPUT = 512  # tokens: BERT's position embeddings


class FinbertMissing(UserError):
    """The model is neither the folder named nor in the Hugging Face cache."""


class FinbertBroken(UserError):
    """The model is there but cannot score: unreadable files, other labels, a device this machine lacks."""


@dataclass(frozen=True)
class FinbertModel:
    """A model found on disk. `id`: as the user gave it (repo id or path); `revision`: see `revision_of`."""

    id: str
    folder: Path
    revision: str


def locate(model: str) -> FinbertModel:
    """`model` as a saved folder (it holds config.json) or a repo id in the local Hugging Face cache."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        folder = _cached_snapshot(model)
    if not (folder / "config.json").is_file():
        raise FinbertMissing(f"{folder}: no config.json, not a saved model (save one with save_pretrained, then --model PATH)")
    return FinbertModel(model, folder, revision_of(folder))


def revision_of(folder: Path) -> str:
    """16 hex digits of a hash of config.json and the weight files (names and bytes).

    Scores are kept per revision, so the hash covers what makes scores differ: the weights, not
    just the config (a model fine-tuned again keeps its config and gets a new revision). Tokenizer
    files are left out: a newer transformers may write the same vocabulary in other bytes.
    """
    weights = sorted({path for pattern in WEIGHT_FILES for path in folder.glob(pattern)})
    if not weights:
        raise FinbertMissing(f"{folder}: no weights (model.safetensors or pytorch_model.bin) beside config.json")
    digest = hashlib.sha256()
    for path in [folder / "config.json", *weights]:
        digest.update(path.name.encode())
        with path.open("rb") as file:
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()[:16]


def hub_cache() -> Path:
    """The Hugging Face hub cache as the hub library finds it (HF_HUB_CACHE, else HF_HOME/hub, else
    ~/.cache/huggingface/hub), read now: the library reads its settings once, when first imported."""
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not cache:
        home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
        cache = os.path.join(home, "hub")
    return Path(os.path.expandvars(cache)).expanduser()


def _cached_snapshot(model: str) -> Path:
    try:
        validate_repo_id(model)
    except HFValidationError:
        raise FinbertMissing(
            f"{Path(model).expanduser().absolute()}: no such folder (save_pretrained a model there, "
            f"or give a Hugging Face repo id such as {DEFAULT_MODEL})"
        ) from None
    cache = hub_cache()
    try:
        return Path(snapshot_download(model, cache_dir=cache, local_files_only=True))
    except LocalEntryNotFoundError as error:
        where = "incomplete in" if isinstance(error, IncompleteSnapshotError) else "not a folder here nor in"
        raise FinbertMissing(
            f"{model}: {where} the Hugging Face cache {cache}; on a machine with network run `hf download {model}` "
            f"and copy models--{model.replace('/', '--')} from its cache (~/.cache/huggingface/hub) into {cache}, "
            f"or save_pretrained the model into a folder and pass --model PATH"
        ) from None


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
