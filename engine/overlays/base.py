"""The overlay plugin type and the validation of a strategy's overlay chain."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.stage import Stage


class OverlayConfig(BaseModel):
    """Base for overlay parameters: unknown keys are rejected, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OverlayType(Protocol):
    name: str
    config: type[OverlayConfig]

    def build(self, config: OverlayConfig, n_symbols: int) -> Stage: ...


def validate_overlay(overlay: OverlayType, params: dict, field: str) -> OverlayConfig:
    """The overlay's config from a strategy's table; errors name `field` and the key."""
    try:
        return overlay.config.model_validate(params)
    except ValidationError as error:
        problems = "; ".join(
            f"{field}.{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
            if issue["loc"]
            else f"{field}: {issue['msg']}"
            for issue in error.errors()
        )
        raise ValueError(problems) from None
