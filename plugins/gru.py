"""GRU with attention over the lookback window, with asset embeddings (built-in model plugin)."""

from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl


class GRUModel(TorchModel):
    name = "gru"
    network_defaults = {"hidden": 64, "layers": 1, "dropout": 0.3, "embedding": 4}

    @classmethod
    def search_space(cls, trial):
        return {
            "hidden": trial.suggest_categorical("hidden", [32, 64, 128]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-4, 0.1, log=True),
        }

    def build_network(self, n_features, n_assets, lookback, hyperparameters):
        from torch import nn  # torch, only once a network is built

        from engine.models.layers import RecurrentClassifier

        return RecurrentClassifier(nn.GRU, n_features, n_assets, hyperparameters)

    def inference_network(self):
        from engine.models.fused_gru import FusedGRUClassifier

        return FusedGRUClassifier(self.network)


@hookimpl
def engine_models():
    return [GRUModel]
