"""The sentiment feature's settings, read by the feature (engine.features.sentiment) and by the news
timeline it is computed from (engine.news.timeline)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.news.model_files import DEFAULT_MODEL


class SentimentSettings(BaseModel):
    """`[signal.feature_settings.sentiment]` in a strategy file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str = Field(default=DEFAULT_MODEL, min_length=1)  # whose scores: a Hugging Face id or a folder
    text: Literal["both", "headline", "summary"] = "both"  # which scores (engine news score --text)
    half_life_bars: float = Field(default=7.0, gt=0.0, le=1000.0)
    latency_minutes: float = Field(default=0.0, ge=0.0, le=7 * 24 * 60)  # from publication to the feature
    updates: Literal["ignore", "count"] = "ignore"  # count: a later version counts again, from its own time
