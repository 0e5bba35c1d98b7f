"""Building blocks for model plugins."""

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
