"""`engine plugins new NAME`: a model plugin and its test, ready to edit."""

from __future__ import annotations

from pathlib import Path

from engine.errors import UserError

PLUGIN_TEMPLATE = '''"""{name}: a model plugin for engine. Edit build_network; the engine trains, saves and loads it."""

import torch
from torch import nn

from engine.models.layers import AssetEmbedding
from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl


class {class_name}Network(nn.Module):
    def __init__(self, n_features, n_assets, lookback, hyperparameters):
        super().__init__()
        self.embed = AssetEmbedding(n_assets, hyperparameters["embedding"])
        self.lstm = nn.LSTM(n_features + hyperparameters["embedding"], hyperparameters["hidden"], batch_first=True)
        self.head = nn.Sequential(nn.Dropout(hyperparameters["dropout"]), nn.Linear(hyperparameters["hidden"], 1))

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.embed(sequences, assets))
        return self.head(states[:, -1]).squeeze(-1)  # one logit per sequence


class {class_name}(TorchModel):
    name = "{name}"
    version = "0.1"
    default_lookback = 24
    default_features = ("technical", "calendar")
    network_defaults = {{"hidden": 32, "dropout": 0.2, "embedding": 4}}

    @classmethod
    def search_space(cls, trial):
        return {{
            "hidden": trial.suggest_categorical("hidden", [16, 32, 64]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        }}

    def build_network(self, n_features, n_assets, lookback, hyperparameters):
        return {class_name}Network(n_features, n_assets, lookback, hyperparameters)


@hookimpl
def engine_models():
    return [{class_name}]
'''

TEST_TEMPLATE = '''"""Checks for the {name} model plugin: discovered, learns a planted pattern, saves and loads."""

from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from engine.models.base import Dataset
from engine.plugins.registry import discover

HERE = Path(__file__).resolve().parent


def planted(n, seed):
    """Sequences whose label is (noisily) the sign of the last step's first feature."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 24, 23)).astype(np.float32)
    assets = rng.integers(0, 2, n)
    labels = (x[:, -1, 0] + rng.normal(scale=1.0, size=n) > 0).astype(np.float32)
    return Dataset(x, assets, labels)


def test_{name}_is_discovered_learns_and_round_trips(tmp_path):
    plugins = discover([HERE], use_entry_points=False)
    assert not plugins.failures, plugins.failures
    model_class = plugins.get("model", "{name}")
    model = model_class(n_features=23, n_assets=2, lookback=24, hyperparameters={{"epochs": 8}})
    train, validation, test = planted(2000, 1), planted(500, 2), planted(1000, 3)
    model.fit(train, validation, seed=0)
    probabilities = model.predict(test.sequences, test.assets)
    assert probabilities.shape == (1000,) and ((0 <= probabilities) & (probabilities <= 1)).all()
    assert roc_auc_score(test.labels, probabilities) > 0.6
    model.save(tmp_path / "model.pt")
    again = model_class.load(tmp_path / "model.pt")
    np.testing.assert_allclose(again.predict(test.sequences, test.assets), probabilities, rtol=1e-6)
'''


class ScaffoldError(UserError, ValueError):
    """The plugin cannot be created: a bad name, or files that already exist."""


def scaffold_model_plugin(folder: Path, name: str) -> tuple[Path, Path]:
    if not name.isidentifier() or name.startswith("_") or name.startswith("test"):
        raise ScaffoldError(f"plugin name {name!r} must be a Python identifier not starting with '_' or 'test'")
    plugin, test = folder / f"{name}.py", folder / f"test_{name}.py"
    for path in (plugin, test):
        if path.exists():
            raise ScaffoldError(f"{path} already exists; not overwriting it")
    folder.mkdir(parents=True, exist_ok=True)
    class_name = "".join(part.capitalize() for part in name.split("_")) + "Model"
    plugin.write_text(PLUGIN_TEMPLATE.format(name=name, class_name=class_name))
    test.write_text(TEST_TEMPLATE.format(name=name))
    return plugin, test
