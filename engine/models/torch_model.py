"""A `Model` backed by a torch network: plugins implement `build_network` and nothing else.

torch is imported where it is used (building, training, saving, loading a network), not with this
module: plugin discovery imports every built-in model class, and a rule strategy must not pay for torch.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from engine.models.base import Dataset, Model
from engine.plugins.faults import guarded

if TYPE_CHECKING:
    from torch import nn

# The hyperparameters of the training loop (engine.models.training, which imports torch), added to
# every network's own.
TRAINING_DEFAULTS = {
    "epochs": 30,
    "batch_size": 256,
    "learning_rate": 1e-3,
    "weight_decay": 0.01,
    "loss": "focal",  # or "weighted_bce"
    "focal_alpha": 0.25,
    "focal_gamma": 2.0,
    "grad_clip": 1.0,
    "patience": 5,
    "lr_patience": 2,
    "lr_factor": 0.5,
}


class TorchModel(Model):
    network_defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.default_hyperparameters = {**TRAINING_DEFAULTS, **cls.network_defaults}

    def __init__(self, n_features: int, n_assets: int, lookback: int, hyperparameters: dict[str, Any] | None = None) -> None:
        super().__init__(n_features, n_assets, lookback, hyperparameters)
        self.network = self._built_network()
        self._inference: nn.Module | None = None  # inference_network() of `_inference_of`, the network it was built from
        self._inference_of: nn.Module | None = None

    @abstractmethod
    def build_network(self, n_features: int, n_assets: int, lookback: int, hyperparameters: dict[str, Any]) -> nn.Module:
        """A module mapping (sequences float32 (n, lookback, features), assets long (n,)) to logits (n,)."""

    def _built_network(self) -> nn.Module:
        """The plugin's network: its author's code, so guarded as every call into a plugin is."""
        with guarded(f"model plugin {self.name!r}", "to build its network"):
            return self.build_network(self.n_features, self.n_assets, self.lookback, self.hyperparameters)

    def fit(self, train: Dataset, validation: Dataset, seed: int) -> dict[str, Any]:
        from engine.models.training import seed_everything, train_network

        generator = seed_everything(seed)
        # Rebuilt after seeding, so the initial weights (and so the result) depend on the seed alone.
        self.network = self._built_network()
        return train_network(self.network, train, validation, self.hyperparameters, generator)

    def inference_network(self) -> nn.Module:
        """The module predict runs: the trained network, or a faster form of it that a plugin knows of
        (same logits to rounding; training always runs the network)."""
        return self.network

    def predict(self, sequences: np.ndarray, assets: np.ndarray) -> np.ndarray:
        from engine.models.training import predict_probabilities

        # Built once per trained network: a replay bar by bar predicts a few sequences at a time.
        if self._inference_of is not self.network:
            self._inference, self._inference_of = self.inference_network(), self.network
        return predict_probabilities(self._inference, sequences, assets)

    def save(self, path: Path) -> None:
        import torch

        torch.save(
            {
                "model": self.name,
                "version": self.version,
                "n_features": self.n_features,
                "n_assets": self.n_assets,
                "lookback": self.lookback,
                "hyperparameters": self.hyperparameters,
                "state_dict": self.network.state_dict(),
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> TorchModel:
        import torch

        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["model"] != cls.name:
            raise ValueError(f"{path} holds a {saved['model']!r} model, not {cls.name!r}")
        model = cls(saved["n_features"], saved["n_assets"], saved["lookback"], saved["hyperparameters"])
        model.network.load_state_dict(saved["state_dict"])
        model.network.eval()
        return model
