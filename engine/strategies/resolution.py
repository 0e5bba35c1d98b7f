"""A strategy resolved against the plugins it names, once per command.

Resolution finds the model plugin, its feature providers and hyperparameters, and every overlay
with its validated settings; an error names the strategy's source and field. What it returns is
what the stages are built from, so nothing is looked up again during a run (nor in threshold
calibration or the ablation, which vary the chain).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.features.base import FeatureContext
from engine.models.learned import LearnedSetup, learned_setup
from engine.overlays.chain import ChainLink, overlay_context, resolve_chain, resolve_link
from engine.plugins.registry import PluginRegistry, registry_of
from engine.strategies.files import find_strategy, read_strategy
from engine.strategies.schema import LEARNED_SIGNALS, ModelSignal, Strategy, StrategyError
from engine.workspace import Workspace


@dataclass(frozen=True)
class ResolvedStrategy:
    strategy: Strategy
    model: LearnedSetup | None  # for a model (or an ensemble of models) strategy
    chain: tuple[ChainLink, ...]
    plugins: PluginRegistry  # what it was resolved against: its brokers, models, features and overlays

    @property
    def name(self) -> str:
        return self.strategy.name

    def with_overlay(self, position: int, table: dict) -> ResolvedStrategy:
        """The same strategy with overlay `position` replaced by `table`, validated (others kept)."""
        return self.with_overlays({position: table})

    def with_overlays(self, tables: dict[int, dict]) -> ResolvedStrategy:
        """The same strategy with each overlay at a position of `tables` replaced by its table, validated."""
        overlays = list(self.strategy.overlays)
        for position, table in tables.items():
            overlays[position] = table
        strategy = self.strategy.model_copy(update={"overlays": overlays})
        context = overlay_context(strategy)
        try:
            links = {position: resolve_link(self.plugins, table, position, context) for position, table in tables.items()}
        except ValueError as error:
            raise StrategyError(f"strategy {strategy.name}: {error}") from None
        chain = tuple(links.get(link.position, link) for link in self.chain)
        return replace(self, strategy=strategy, chain=chain)


def resolve_strategy(strategy: Strategy, source: str | None = None, workspace: Workspace | None = None) -> ResolvedStrategy:
    """Check the strategy against the plugins `workspace` sees (without one: the built-in and installed
    ones); errors name `source` (default: the strategy) and the field. Its features read the
    workspace's news."""
    plugins = registry_of() if workspace is None else workspace.registry
    try:
        news = None if workspace is None else workspace.news
        context = FeatureContext(tuple(strategy.data.symbols), strategy.data.timeframe, news)
        learned = isinstance(strategy.signal, LEARNED_SIGNALS)
        model = learned_setup(strategy.signal, plugins, context, lambda name: _member_model(name, workspace)) if learned else None
        chain = resolve_chain(strategy, plugins)
    except ValueError as error:
        raise StrategyError(f"{source or f'strategy {strategy.name}'}: {error}") from None
    return ResolvedStrategy(strategy, model, chain, plugins)


def strategy_with_overrides(
    name: str,
    workspace: Workspace,
    symbols: list[str] | None = None,
    timeframe: str | None = None,
    start: str | None = None,
    end: str | None = None,
    commission_bps: float | None = None,
    slippage_bps: float | None = None,
    size_at: str | None = None,
    risk: dict | None = None,
    sentiment_model: str | None = None,
) -> ResolvedStrategy:
    """The named strategy (found in `workspace`) with the command line's overrides, resolved against
    the workspace's plugins. `risk`: limits that replace the strategy's `[risk]` ones (`--kill-switch`);
    `sentiment_model`: whose scores its sentiment feature reads (`--sentiment-model`)."""
    path = find_strategy(name, workspace)
    strategy = read_strategy(path)
    if sentiment_model is not None:
        strategy = _with_sentiment_model(strategy, sentiment_model)
    data = {"symbols": symbols, "timeframe": timeframe, "start": start, "end": end}
    costs = {"commission_bps": commission_bps, "slippage_bps": slippage_bps}
    overridden = strategy.with_overrides(
        data={key: value for key, value in data.items() if value is not None},
        costs={key: value for key, value in costs.items() if value is not None},
        execution={} if size_at is None else {"size_at": size_at},
        risk=risk or {},
    )
    return resolve_strategy(overridden, str(path), workspace)


def _member_model(name: str, workspace: Workspace | None) -> ModelSignal:
    """The model signal of the strategy an ensemble member names."""
    try:
        signal = read_strategy(find_strategy(name, workspace)).signal
    except StrategyError as error:
        raise ValueError(f"strategy: {error}") from None
    if not isinstance(signal, ModelSignal):
        raise ValueError(f"strategy: {name} is not a model strategy (its signal.kind is {signal.kind!r})")
    return signal


def _with_sentiment_model(strategy: Strategy, model: str) -> Strategy:
    signal = strategy.signal
    if not isinstance(signal, ModelSignal) or "sentiment" not in (signal.features or ()):
        raise StrategyError(f"--sentiment-model: strategy {strategy.name} has no sentiment feature")
    settings = {**signal.feature_settings, "sentiment": {**signal.feature_settings.get("sentiment", {}), "model": model}}
    return strategy.with_overrides(signal={"feature_settings": settings})
