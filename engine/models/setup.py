"""A strategy's model signal resolved against the plugins: model class, inputs, hyperparameters."""

from __future__ import annotations

from engine.features.dataset import FeatureSet
from engine.models.base import Model
from engine.plugins.registry import PluginRegistry
from engine.strategy import ModelSignal


class ModelSetup:
    """Errors name the field of the strategy (`signal.plugin`, `signal.hyperparameters`, `signal.features[i]`)."""

    def __init__(self, signal: ModelSignal, plugins: PluginRegistry) -> None:
        self.signal = signal
        try:
            self.model_class: type[Model] = plugins.get("model", signal.plugin)
        except LookupError as error:
            raise ValueError(f"signal.plugin: {error}") from None
        self.lookback = signal.lookback or self.model_class.default_lookback
        names = signal.features or list(self.model_class.default_features)
        providers = []
        for position, name in enumerate(names):
            try:
                providers.append(plugins.get("features", name))
            except LookupError as error:
                field = f"signal.features[{position}]" if signal.features else "the model's default features"
                raise ValueError(f"{field}: {error}") from None
        self.features = FeatureSet(providers)
        try:
            self.hyperparameters = self.model_class.resolve_hyperparameters(dict(signal.hyperparameters))
        except ValueError as error:
            raise ValueError(f"signal.hyperparameters: {error}") from None

    def description(self) -> dict:
        return {
            "plugin": self.signal.plugin,
            "plugin_version": self.model_class.version,
            "lookback": self.lookback,
            "features": list(self.features.columns),
            "hyperparameters": self.hyperparameters,
            "labels": self.signal.labels.model_dump(),
            "walk_forward": self.signal.walk_forward.model_dump(),
            "purge_bars": self.signal.purge_bars,
            "seed": self.signal.seed,
        }
