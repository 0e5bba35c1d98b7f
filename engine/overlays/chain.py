"""A strategy's overlay chain: each `[[overlays]]` table resolved to its plugin and validated config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.kernel.stage import Stage
from engine.overlays.base import OverlayConfig, OverlayContext, OverlayType, validate_overlay
from engine.plugins.registry import PluginRegistry
from engine.strategies.schema import LEARNED_SIGNALS, MomentumSignal, Strategy


@dataclass(frozen=True)
class ChainLink:
    overlay: OverlayType
    config: OverlayConfig
    position: int


def overlay_context(strategy: Strategy, periods_per_year: float | None = None, cache_dir: Path | None = None) -> OverlayContext:
    """What overlays are validated and built in. Bars per year come from the data, so they are
    known only when stages are built; validation does not need them."""
    return OverlayContext(
        symbols=tuple(strategy.data.symbols),
        periods_per_year=periods_per_year,
        commission=strategy.costs.commission,
        slippage=strategy.costs.slippage,
        allow_short=strategy.execution.allow_short,
        signal_is_probability=isinstance(strategy.signal, LEARNED_SIGNALS),
        cache_dir=cache_dir,
        signal_gives_scores=isinstance(strategy.signal, MomentumSignal),
    )


def resolve_link(plugins: PluginRegistry, table: dict, position: int, context: OverlayContext) -> ChainLink:
    """One `[[overlays]]` table; errors name `overlays[i]` and the key."""
    field = f"overlays[{position}]"
    params = dict(table)
    kind = params.pop("kind", None)
    if not isinstance(kind, str):
        raise ValueError(f"{field}.kind: missing (the overlay's name)")
    try:
        overlay = plugins.get("overlay", kind)
    except LookupError as error:
        raise ValueError(f"{field}.kind: {error}") from None
    return ChainLink(overlay, validate_overlay(overlay, params, field, context), position)


def resolve_chain(strategy: Strategy, plugins: PluginRegistry) -> tuple[ChainLink, ...]:
    """Every overlay of the strategy, in order."""
    context = overlay_context(strategy)
    chain = tuple(resolve_link(plugins, table, position, context) for position, table in enumerate(strategy.overlays))
    if context.signal_gives_scores and (not chain or chain[0].overlay.category != "threshold"):
        raise ValueError(
            f"overlays: signal {strategy.signal.kind} gives scores, not weights; "
            "the first overlay must turn them into positions (top_k or threshold)"
        )
    return chain


def build_chain(links: tuple[ChainLink, ...] | list[ChainLink], context: OverlayContext) -> list[Stage]:
    """Fresh overlay stages for `links`."""
    return [link.overlay.build(link.config, context) for link in links]
