"""What a plugin may add. Each hook returns a list; the engine collects them from every plugin."""

from __future__ import annotations

import pluggy

PROJECT = "engine"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class EngineHooks:
    @hookspec
    def engine_models(self) -> list:
        """Model classes (subclasses of `engine.models.base.Model`), each with a unique `name`."""

    @hookspec
    def engine_feature_providers(self) -> list:
        """Feature provider instances (`engine.features.base.FeatureProvider`)."""

    @hookspec
    def engine_overlays(self) -> list:
        """Overlay types (`engine.overlays.base.OverlayType`): a name, a config model and a stage factory."""

    @hookspec
    def engine_feeds(self) -> list:
        """Feed types, each with a `name`, whose instances implement `engine.feeds.port.Feed`."""

    @hookspec
    def engine_brokers(self) -> list:
        """Broker types, each with a `name`, called with the strategy's `ExecutionRules` to make an
        `engine.execution.port.Broker`."""

    @hookspec
    def engine_strategies(self) -> list:
        """Paths of strategy files (TOML) the plugin ships."""
