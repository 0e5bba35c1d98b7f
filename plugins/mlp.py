"""A multilayer perceptron over the flattened lookback window plus an asset embedding (built-in model plugin)."""

from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl


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
        from engine.models.layers import FlatClassifier  # torch, only once a network is built

        return FlatClassifier(n_features, n_assets, lookback, hyperparameters)


@hookimpl
def engine_models():
    return [MLPModel]
