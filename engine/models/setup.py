"""A strategy's model signal resolved against the plugins: model class, inputs, hyperparameters."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from engine.features.base import FeatureContext, FeatureProvider
from engine.features.dataset import FeatureSet
from engine.models.base import Model
from engine.plugins.faults import guarded
from engine.plugins.registry import PluginRegistry
from engine.strategies.schema import ModelSignal


class ModelSetup:
    """Errors name the field of the strategy (`signal.plugin`, `signal.hyperparameters`, `signal.features[i]`,
    `signal.feature_settings.NAME.FIELD`)."""

    scores_validation = False  # whether its folds are scored on their validation windows (an ensemble's members are)

    def __init__(self, signal: ModelSignal, plugins: PluginRegistry, context: FeatureContext) -> None:
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
                provider = plugins.get("features", name)
            except LookupError as error:
                field = f"signal.features[{position}]" if signal.features else "the model's default features"
                raise ValueError(f"{field}: {error}") from None
            providers.append(provider)
        # Settings are checked whether or not their provider is used (a search space may leave it out).
        settings = {name: _settings(plugins, name, table) for name, table in signal.feature_settings.items()}
        self.features = FeatureSet([_configured(provider, settings.get(provider.name), context) for provider in providers])
        try:
            self.hyperparameters = self.model_class.resolve_hyperparameters(dict(signal.hyperparameters))
        except ValueError as error:
            raise ValueError(f"signal.hyperparameters: {error}") from None

    def description(self) -> dict:
        # The scope is named only when it is not the default: combined folds keep the keys they had before it.
        return {
            **({} if self.signal.scope == "combined" else {"scope": self.signal.scope}),
            "plugin": self.signal.plugin,
            "plugin_version": self.model_class.version,
            "lookback": self.lookback,
            "features": list(self.features.columns),
            "hyperparameters": self.hyperparameters,
            "labels": self.signal.labels.model_dump(),
            "walk_forward": self.signal.walk_forward.model_dump(),
            "purge_bars": self.signal.purge_bars,
            "seed": self.signal.seed,
            **({"feature_inputs": inputs} if (inputs := self.feature_inputs()) else {}),
        }

    def feature_inputs(self) -> dict[str, str]:
        """Fingerprints of what configurable providers read beyond the bars (news and its scores), by provider."""
        return {
            provider.name: provider.inputs_fingerprint()
            for provider in self.features.providers
            if hasattr(provider, "inputs_fingerprint")
        }


def _settings(plugins: PluginRegistry, name: str, table: dict) -> BaseModel:
    field = f"signal.feature_settings.{name}"
    try:
        provider = plugins.get("features", name)
    except LookupError as error:
        raise ValueError(f"{field}: {error}") from None
    if not hasattr(provider, "configure"):
        raise ValueError(f"{field}: feature provider {name!r} takes no settings")
    try:
        return provider.settings.model_validate(table)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ValueError(f"{field}{'.' + where if where else ''}: {problem['msg']}") from None


def _configured(provider, settings: BaseModel | None, context: FeatureContext) -> FeatureProvider:
    """The provider, configured (with its defaults where the strategy gives no settings) when it takes any."""
    if not hasattr(provider, "configure"):
        return provider
    with guarded(f"feature plugin {provider.name!r}", "in configure"):
        return provider.configure(settings or provider.settings(), context)
