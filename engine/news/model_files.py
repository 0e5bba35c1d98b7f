"""Where a FinBERT model is on this machine, and which revision it is: a saved folder
(`save_pretrained`) or a Hugging Face repo id already in the local hub cache. Weights are never
downloaded here: missing is a one-line error saying where it was looked for and how to bring it.

Nothing here imports torch or transformers (engine.news.finbert loads the model): the sentiment
feature finds a model's revision on every run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError

DEFAULT_MODEL = "ProsusAI/finbert"
LABELS = ("positive", "negative", "neutral")  # the columns of Scorer.score, whatever the model's order
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")  # transformers loads safetensors when both are there


class FinbertMissing(UserError):
    """The model is neither the folder named nor in the Hugging Face cache."""


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
    # The hub library takes a third of a second to import: only when a repo id is to be found.
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, IncompleteSnapshotError, LocalEntryNotFoundError
    from huggingface_hub.utils import validate_repo_id

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
