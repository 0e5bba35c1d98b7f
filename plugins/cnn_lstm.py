"""A causal 1-D convolution over time feeding an LSTM with attention (built-in model plugin)."""

import torch
from torch import nn

from engine.models.layers import AssetEmbedding, AttentionPooling
from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl


class CNNLSTMNetwork(nn.Module):
    def __init__(self, n_features, n_assets, hyperparameters):
        super().__init__()
        channels, hidden, kernel = hyperparameters["channels"], hyperparameters["hidden"], hyperparameters["kernel"]
        self.embed = AssetEmbedding(n_assets, hyperparameters["embedding"])
        # Left padding only: a step's convolution sees that step and earlier ones.
        self.pad = nn.ConstantPad1d((kernel - 1, 0), 0.0)
        self.conv = nn.Conv1d(n_features + hyperparameters["embedding"], channels, kernel)
        self.lstm = nn.LSTM(channels, hidden, batch_first=True)
        self.attention = AttentionPooling(hidden)
        self.head = nn.Sequential(nn.Dropout(hyperparameters["dropout"]), nn.Linear(2 * hidden, 1))

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        x = self.embed(sequences, assets).transpose(1, 2)
        x = torch.relu(self.conv(self.pad(x))).transpose(1, 2)
        states, _ = self.lstm(x)
        return self.head(torch.cat([self.attention(states), states[:, -1]], dim=-1)).squeeze(-1)


class CNNLSTMModel(TorchModel):
    name = "cnn_lstm"
    network_defaults = {"channels": 32, "kernel": 3, "hidden": 64, "dropout": 0.3, "embedding": 4}

    @classmethod
    def search_space(cls, trial):
        return {
            "channels": trial.suggest_categorical("channels", [16, 32, 64]),
            "kernel": trial.suggest_int("kernel", 2, 5),
            "hidden": trial.suggest_categorical("hidden", [32, 64, 128]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        }

    def build_network(self, n_features, n_assets, lookback, hyperparameters):
        return CNNLSTMNetwork(n_features, n_assets, hyperparameters)


@hookimpl
def engine_models():
    return [CNNLSTMModel]
