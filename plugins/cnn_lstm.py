"""A causal 1-D convolution over time feeding an LSTM with attention (built-in model plugin)."""

from engine.models.torch_model import TorchModel
from engine.plugins import hookimpl


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
        from engine.models.layers import ConvRecurrentClassifier  # torch, only once a network is built

        return ConvRecurrentClassifier(n_features, n_assets, hyperparameters)


@hookimpl
def engine_models():
    return [CNNLSTMModel]
