"""The model store: one folder per trained walk-forward fold, keyed by everything that shaped it.

    models/<key>/model.pt     the plugin's saved model (torch files load with weights_only)
    models/<key>/scaler.json  the feature scaling fitted on the fold's training window
    models/<key>/meta.json    plugin, hyperparameters, features, labels, fold, data fingerprint, metrics

The key hashes the plugin and its version, hyperparameters, lookback, feature columns, label and
walk-forward settings, seed, the symbols, the fold's bounds and the fingerprint of the bars it could
see (and the scope, when it is not the default: an individual-scope fold is one symbol's, and its
bars that symbol's alone), so a run reuses a fold exactly when all of these match. Folders are written whole (staged, renamed);
a staging folder left by a killed process is removed by the next save.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from engine.stores.files import remove_stale_temporaries, temporary_sibling


def fold_key(description: dict) -> str:
    return hashlib.sha256(json.dumps(description, sort_keys=True, default=str).encode()).hexdigest()[:32]


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        return (self.path(key) / "meta.json").exists()

    def read_meta(self, key: str) -> dict | None:
        """The fold's meta.json, or None when it is unreadable (a fold damaged on disk)."""
        return _read_table(self.path(key) / "meta.json")

    def read_scaler(self, key: str) -> dict | None:
        """The fold's scaler.json, or None when it is unreadable."""
        return _read_table(self.path(key) / "scaler.json")

    def save(self, key: str, write_files) -> Path:
        """Call write_files(folder) on a staging folder, then move it into place."""
        final = self.path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.root)
        staging = temporary_sibling(final, ".partial")
        staging.mkdir()
        try:
            write_files(staging)
            shutil.rmtree(final, ignore_errors=True)
            try:
                staging.rename(final)
            except OSError:
                if not self.has(key):
                    raise
                shutil.rmtree(staging)  # another process saved the same fold first: keep its folder
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final


def _read_table(path: Path) -> dict | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None
