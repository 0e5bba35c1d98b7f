"""The model store: one folder per trained walk-forward fold, keyed by everything that shaped it.

    models/<key>/model.pt     the plugin's saved model (torch files load with weights_only)
    models/<key>/scaler.json  the feature scaling fitted on the fold's training window
    models/<key>/meta.json    plugin, hyperparameters, features, labels, fold, data fingerprint, metrics

The key hashes the plugin and its version, hyperparameters, lookback, feature columns, label and
walk-forward settings, seed, the fold's bounds and the fingerprint of the bars it could see, so a
run reuses a fold exactly when all of these match. Folders are written whole (staged, renamed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path


def fold_key(description: dict) -> str:
    return hashlib.sha256(json.dumps(description, sort_keys=True, default=str).encode()).hexdigest()[:32]


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        return (self.path(key) / "meta.json").exists()

    def read_meta(self, key: str) -> dict:
        return json.loads((self.path(key) / "meta.json").read_text())

    def save(self, key: str, write_files) -> Path:
        """Call write_files(folder) on a staging folder, then move it into place."""
        final = self.path(key)
        staging = self.root / f".{key}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            write_files(staging)
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final
