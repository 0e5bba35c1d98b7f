"""A multilayer perceptron over the flattened lookback window plus an asset embedding (built-in model plugin)."""

import torch
from torch import nn

from engine.models.layers import AssetEmbedding
from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl


class MLPNetwork(nn.Module):
    def __init__(self, n_features, n_assets, lookback, hyperparameters):
        super().__init__()
        self.embed = AssetEmbedding(n_assets, hyperparameters["embedding"])
        width, dropout = hyperparameters["hidden"], hyperparameters["dropout"]
        inputs = lookback * (n_features + hyperparameters["embedding"])
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(inputs, width), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(width, width // 2), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(width // 2, 1),
        )  # fmt: skip

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        return self.layers(self.embed(sequences, assets)).squeeze(-1)


class MLPModel(TorchModel):
    name = "mlp"
    network_defaults = {"hidden": 128, "dropout": 0.3, "embedding": 4}

    @classmethod
    def search_space(cls, trial):
        return {
            "hidden": trial.suggest_categorical("hidden", [64, 128, 256]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        }

    def build_network(self, n_features, n_assets, lookback, hyperparameters):
        return MLPNetwork(n_features, n_assets, lookback, hyperparameters)


@hookimpl
def engine_models():
    return [MLPModel]
