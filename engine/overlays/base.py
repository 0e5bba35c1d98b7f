"""The overlay plugin type, the context overlays are built in, and validation of their settings.

An overlay type has a `name` (what a strategy's `[[overlays]] kind` names), a `category`
(threshold, regime, risk or cost: the steps of `--ablation`; "threshold" is the step that turns
scores into positions, as `threshold` and `top_k` do), a pydantic `config` model and the
stage it builds from a validated config and the strategy's context. Settings are validated when the strategy loads;
validators see the strategy's context (symbols, whether shorting is allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.kernel.stage import Stage
from engine.overlays.memo import StageMemo

Category = Literal["threshold", "regime", "risk", "cost"]
CATEGORIES: tuple[Category, ...] = ("threshold", "regime", "risk", "cost")


@dataclass(frozen=True)
class OverlayContext:
    symbols: tuple[str, ...]
    periods_per_year: float | None  # None while validating: bars per year come from the data
    commission: float
    slippage: float
    allow_short: bool
    signal_is_probability: bool
    # A folder where stages may keep, between runs, results that depend only on their inputs
    # (models/overlays/ in the workspace); None: they keep them in memory only.
    cache_dir: Path | None = None
    # Where stages keep in memory what they derive from bars alone, for runs that replay the same
    # bars (an overlay-only study's trials); None: they compute it in every run.
    memo: StageMemo | None = field(default=None, compare=False)
    # The signal gives scores (momentum's return), not weights: the first overlay must make positions of them.
    signal_gives_scores: bool = False

    @property
    def neutral_score(self) -> float | None:
        """The score that takes no view, above which a raw score is a position (the ablation's raw
        step): a probability's 0.5, a score's 0; None when the signal gives weights."""
        if self.signal_is_probability:
            return 0.5
        return 0.0 if self.signal_gives_scores else None

    @property
    def round_trip_cost(self) -> float:
        """Commission and slippage paid entering and leaving, as a fraction of the notional."""
        return 2 * (self.commission + self.slippage)


class OverlayConfig(BaseModel):
    """Base for overlay parameters: unknown keys are rejected, values are validated (finite numbers only)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class OverlayType:
    """What an overlay plugin registers: its name, category, config model and stage class
    (a callable taking the validated config and the context)."""

    name: str
    category: Category
    config: type[OverlayConfig]
    stage: Callable[[OverlayConfig, OverlayContext], Stage]

    def build(self, config: OverlayConfig, context: OverlayContext) -> Stage:
        return self.stage(config, context)


def validate_overlay(overlay: OverlayType, params: dict, field: str, context: OverlayContext) -> OverlayConfig:
    """The overlay's config from a strategy's table; errors name `field` and the key."""
    try:
        return overlay.config.model_validate(params, context=context)
    except ValidationError as error:
        problems = "; ".join(
            f"{field}.{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
            if issue["loc"]
            else f"{field}: {issue['msg']}"
            for issue in error.errors()
        )
        raise ValueError(problems) from None


def per_symbol(value: float | dict[str, float], symbols: tuple[str, ...], default: float | None = None):
    """A setting given once or per symbol, as one value per symbol column."""
    import numpy as np

    if isinstance(value, dict):
        return np.array([value.get(symbol, default) for symbol in symbols], dtype=float)
    return np.full(len(symbols), float(value))
