"""`engine plugins new NAME`: a model plugin and its test, ready to edit.

The network is the one NAME names (`my_tcn`: a temporal convolutional network; `fast_gru`: a GRU),
or the one asked for, or an LSTM; the plugin's docstrings say which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import UserError

if TYPE_CHECKING:
    from engine.plugins.registry import PluginEntry


@dataclass(frozen=True)
class Network:
    """A network a scaffold can start from, as source text."""

    description: str  # what it is, in words: "a GRU over the lookback window"
    source: str  # the network class; "NETWORK" stands for its name
    defaults: str  # network_defaults
    space: str  # the entries of search_space's dict


def _recurrent(layer: str, article: str) -> Network:
    return Network(
        f"{article} {layer} over the lookback window",
        f"""class NETWORK(nn.Module):
    def __init__(self, n_features, n_assets, lookback, hyperparameters):
        super().__init__()
        self.embed = AssetEmbedding(n_assets, hyperparameters["embedding"])
        self.recurrent = nn.{layer}(n_features + hyperparameters["embedding"], hyperparameters["hidden"], batch_first=True)
        self.head = nn.Sequential(nn.Dropout(hyperparameters["dropout"]), nn.Linear(hyperparameters["hidden"], 1))

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        states, _ = self.recurrent(self.embed(sequences, assets))
        return self.head(states[:, -1]).squeeze(-1)  # one logit per sequence, from its last state""",
        '{"hidden": 32, "dropout": 0.2, "embedding": 4}',
        """            "hidden": trial.suggest_categorical("hidden", [16, 32, 64]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),""",
    )


NETWORKS = {
    "tcn": Network(
        "a temporal convolutional network (causal dilated 1-D convolutions over the lookback window)",
        '''class NETWORK(nn.Module):
    """Residual blocks of causal convolutions dilated 1, 2, 4, …: a step sees itself and earlier steps only."""

    def __init__(self, n_features, n_assets, lookback, hyperparameters):
        super().__init__()
        channels, kernel = hyperparameters["channels"], hyperparameters["kernel"]
        self.embed = AssetEmbedding(n_assets, hyperparameters["embedding"])
        self.project = nn.Conv1d(n_features + hyperparameters["embedding"], channels, 1)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.ConstantPad1d(((kernel - 1) * 2**level, 0), 0.0),  # padded on the left only: causal
                nn.Conv1d(channels, channels, kernel, dilation=2**level),
                nn.ReLU(),
                nn.Dropout(hyperparameters["dropout"]),
            )
            for level in range(hyperparameters["levels"])
        )
        self.head = nn.Linear(channels, 1)

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        x = self.project(self.embed(sequences, assets).transpose(1, 2))  # (n, channels, lookback)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x[:, :, -1]).squeeze(-1)  # one logit per sequence, from its last step''',
        '{"channels": 32, "kernel": 3, "levels": 3, "dropout": 0.1, "embedding": 4}',
        """            "channels": trial.suggest_categorical("channels", [16, 32, 64]),
            "levels": trial.suggest_int("levels", 2, 4),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),""",
    ),
    "lstm": _recurrent("LSTM", "an"),
    "gru": _recurrent("GRU", "a"),
    "mlp": Network(
        "a multilayer perceptron over the flattened lookback window",
        """class NETWORK(nn.Module):
    def __init__(self, n_features, n_assets, lookback, hyperparameters):
        super().__init__()
        self.embed = AssetEmbedding(n_assets, hyperparameters["embedding"])
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(lookback * (n_features + hyperparameters["embedding"]), hyperparameters["hidden"]),
            nn.ReLU(),
            nn.Dropout(hyperparameters["dropout"]),
            nn.Linear(hyperparameters["hidden"], 1),
        )

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        return self.layers(self.embed(sequences, assets)).squeeze(-1)  # one logit per sequence""",
        '{"hidden": 64, "dropout": 0.2, "embedding": 4}',
        """            "hidden": trial.suggest_categorical("hidden", [32, 64, 128]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),""",
    ),
}
DEFAULT_NETWORK = "lstm"

# Filled by str.replace, not str.format: the plugin's source is full of braces.
PLUGIN_TEMPLATE = '''"""NAME: a model plugin built on DESCRIPTION.

A learned embedding per asset joins each step's features. Edit the network (in `network_class`);
the engine trains, saves and loads it (see docs/plugins.md). torch is imported only once a network
is built, as the built-in plugins do: every engine command in the workspace imports this file, and
most never build a network.
"""

from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl

__version__ = "0.1.0"  # what `engine plugins list` shows


def network_class():
    """The network's class: it maps (n, lookback, n_features) sequences and their assets to one logit
    per sequence, shape (n,)."""
    import torch
    from torch import nn

    from engine.models.layers import AssetEmbedding

SOURCE

    return NETWORK


class CLASS(TorchModel):
    """NAME: DESCRIPTION."""

    name = "NAME"
    version = __version__  # part of the key of stored trained models: a new version trains anew
    default_lookback = 24
    default_features = ("technical", "calendar")
    # The network's own hyperparameters; the engine adds the training loop's (epochs, learning_rate, …).
    network_defaults = DEFAULTS

    @classmethod
    def search_space(cls, trial):
        return {
SPACE
        }

    def build_network(self, n_features, n_assets, lookback, hyperparameters):
        return network_class()(n_features, n_assets, lookback, hyperparameters)


@hookimpl
def engine_models():
    return [CLASS]
'''

TEST_TEMPLATE = '''"""Checks for the {name} model plugin: discovered, learns a planted pattern, saves and loads."""

from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from engine.models.base import Dataset
from engine.plugins.registry import discover

HERE = Path(__file__).resolve().parent


N_FEATURES = 23  # what the default features give; the network takes any number


def planted(n, seed, lookback):
    """Sequences whose label is (noisily) the sign of the last step's first feature."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, lookback, N_FEATURES)).astype(np.float32)
    assets = rng.integers(0, 2, n)
    labels = (x[:, -1, 0] + rng.normal(scale=1.0, size=n) > 0).astype(np.float32)
    return Dataset(x, assets, labels)


def test_{name}_is_discovered_learns_and_round_trips(tmp_path):
    plugins = discover([HERE], use_entry_points=False)
    assert not plugins.failures, plugins.failures
    model_class = plugins.get("model", "{name}")
    lookback = model_class.default_lookback
    model = model_class(n_features=N_FEATURES, n_assets=2, lookback=lookback, hyperparameters={{"epochs": 8}})
    train, validation, test = (planted(n, seed, lookback) for n, seed in ((2000, 1), (500, 2), (1000, 3)))
    model.fit(train, validation, seed=0)
    probabilities = model.predict(test.sequences, test.assets)
    assert probabilities.shape == (1000,) and ((0 <= probabilities) & (probabilities <= 1)).all()
    assert roc_auc_score(test.labels, probabilities) > 0.6
    model.save(tmp_path / "model.pt")
    again = model_class.load(tmp_path / "model.pt")
    np.testing.assert_allclose(again.predict(test.sequences, test.assets), probabilities, rtol=1e-6)
'''


class ScaffoldError(UserError, ValueError):
    """The plugin cannot be created: a bad name, a name in use, an unknown network, or files that already exist."""


def network_for(name: str, network: str | None = None) -> str:
    """The network asked for, else the first that a part of NAME names (my_tcn: tcn), else an LSTM."""
    if network is not None:
        if network not in NETWORKS:
            raise ScaffoldError(f"unknown network {network!r}: use {', '.join(NETWORKS)}")
        return network
    return next((part for part in name.lower().split("_") if part in NETWORKS), DEFAULT_NETWORK)


def plugin_source(name: str, network: str) -> str:
    stem = "".join(part.capitalize() for part in name.split("_"))
    chosen = NETWORKS[network]
    indented = "\n".join(f"    {line}" if line else line for line in chosen.source.splitlines())  # inside network_class
    source = PLUGIN_TEMPLATE.replace("SOURCE", indented).replace("DEFAULTS", chosen.defaults)
    source = source.replace("SPACE", chosen.space).replace("DESCRIPTION", chosen.description)
    return source.replace("NETWORK", f"{stem}Network").replace("CLASS", f"{stem}Model").replace("NAME", name)


def scaffold_model_plugin(
    folder: Path, name: str, network: str | None = None, provided: Iterable[PluginEntry] = ()
) -> tuple[Path, Path]:
    """`provided`: what the plugins already provide; a name among them is refused (strategies and
    `engine plugins show` would find two things under it)."""
    if not name.isidentifier() or name.startswith("_") or name.startswith("test"):
        raise ScaffoldError(f"plugin name {name!r} must be a Python identifier not starting with '_' or 'test'")
    for entry in provided:
        if entry.name == name:
            article = "an" if entry.kind[0] in "aeiou" else "a"
            raise ScaffoldError(f"{name!r} is already {article} {entry.kind} plugin ({entry.origin}); choose another name")
    chosen = network_for(name, network)
    plugin, test = folder / f"{name}.py", folder / f"test_{name}.py"
    for path in (plugin, test):
        if path.exists():
            raise ScaffoldError(f"{path} already exists; not overwriting it")
    folder.mkdir(parents=True, exist_ok=True)
    plugin.write_text(plugin_source(name, chosen))
    test.write_text(TEST_TEMPLATE.format(name=name))
    return plugin, test
