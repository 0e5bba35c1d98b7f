"""Building blocks for model plugins, and the built-in plugins' networks.

The built-in plugins import this module (and so torch) when they build a network, not when they
are discovered.
"""

from __future__ import annotations

import torch
from torch import nn


class AssetEmbedding(nn.Module):
    """Appends a learned per-asset vector to every time step of a sequence."""

    def __init__(self, n_assets: int, dimension: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_assets, dimension)

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        vectors = self.embedding(assets)[:, None, :].expand(-1, sequences.shape[1], -1)
        return torch.cat([sequences, vectors], dim=-1)


class AttentionPooling(nn.Module):
    """Additive attention over time steps: a weighted sum of the hidden states."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(states), dim=1)
        return (weights * states).sum(dim=1)


class RecurrentClassifier(nn.Module):
    """Embedding -> recurrent layers -> attention over their states (+ the last state) -> logit."""

    def __init__(self, recurrent: type[nn.RNNBase], n_features: int, n_assets: int, hyperparameters: dict) -> None:
        super().__init__()
        hidden, dropout = hyperparameters["hidden"], hyperparameters["dropout"]
        self.embed = AssetEmbedding(n_assets, hyperparameters["embedding"])
        layers = hyperparameters["layers"]
        self.recurrent = recurrent(
            n_features + hyperparameters["embedding"],
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.attention = AttentionPooling(hidden)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, 1))

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        states, _ = self.recurrent(self.embed(sequences, assets))
        return self.head(torch.cat([self.attention(states), states[:, -1]], dim=-1)).squeeze(-1)


class ConvRecurrentClassifier(nn.Module):
    """A causal 1-D convolution over time feeding an LSTM with attention (the cnn_lstm plugin)."""

    def __init__(self, n_features: int, n_assets: int, hyperparameters: dict) -> None:
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


class FlatClassifier(nn.Module):
    """A multilayer perceptron over the flattened lookback window plus an asset embedding (the mlp plugin)."""

    def __init__(self, n_features: int, n_assets: int, lookback: int, hyperparameters: dict) -> None:
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
