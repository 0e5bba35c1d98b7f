"""A strategy's overlay chain: each `[[overlays]]` table resolved to its plugin and validated config."""

from __future__ import annotations

from dataclasses import dataclass

from engine.overlays.base import OverlayConfig, OverlayContext, OverlayType, validate_overlay
from engine.plugins.registry import registry
from engine.stage import Stage
from engine.strategy import ModelSignal, Strategy


@dataclass(frozen=True)
class ChainLink:
    overlay: OverlayType
    config: OverlayConfig
    position: int


def overlay_context(strategy: Strategy) -> OverlayContext:
    return OverlayContext(
        symbols=tuple(strategy.data.symbols),
        periods_per_year=strategy.periods_per_year,
        commission=strategy.costs.commission,
        slippage=strategy.costs.slippage,
        allow_short=strategy.execution.allow_short,
        signal_is_probability=isinstance(strategy.signal, ModelSignal),
    )


def resolve_chain(strategy: Strategy) -> list[ChainLink]:
    """Every overlay of the strategy, in order; errors name `overlays[i]` and the key."""
    context = overlay_context(strategy)
    links = []
    for position, table in enumerate(strategy.overlays):
        field = f"overlays[{position}]"
        params = dict(table)
        kind = params.pop("kind", None)
        if not isinstance(kind, str):
            raise ValueError(f"{field}.kind: missing (the overlay's name)")
        try:
            overlay = registry().get("overlay", kind)  # discovered at the first call: never for a chain without overlays
        except LookupError as error:
            raise ValueError(f"{field}.kind: {error}") from None
        links.append(ChainLink(overlay, validate_overlay(overlay, params, field, context), position))
    return links


def build_chain(strategy: Strategy, links: list[ChainLink] | None = None) -> list[Stage]:
    """Fresh overlay stages for `links` (default: the strategy's whole chain)."""
    context = overlay_context(strategy)
    return [link.overlay.build(link.config, context) for link in (resolve_chain(strategy) if links is None else links)]
