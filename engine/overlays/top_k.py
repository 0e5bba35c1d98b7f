"""Cross-sectional top-k portfolio: rank the universe by score at each bar's close, hold the `k`
best (and, with `short_k`, short the `short_k` worst), turning over in the manner of Qlib's
TopkDropoutStrategy.

It ranks the scores it receives: the signal's, as the chain's first overlay (where `threshold`
reads them too). Each bar, per book (the long book first, then the short book on what the long
book left):

- ranking: higher scores first for the long book, lower first for the short book; ties go to the
  column listed first in `data.symbols`. A NaN score ranks nothing: that symbol cannot enter, and
  a holding with one ranks below every scored symbol.
- a bar whose scores are all equal (or NaN) carries no order: a signal's warm-up (momentum's 0, a
  model's 0 before its first prediction). Nothing enters or leaves on it (flat before the first).
- `min_hold_bars`: a holding chosen at bar t stays through bar t + min_hold_bars − 1 whatever its
  rank (the `holding` overlay's count); it fills one of the book's slots meanwhile.
- `max_replacements` n (Qlib's n_drop): the book becomes the best of its free holdings and the
  n + (free slots − free holdings) best symbols outside it (Qlib's "today" list), so at most n holdings
  leave a bar, each for a better-ranked newcomer, and empty slots fill without counting. None: no
  limit, the book is the k best-ranked outright.
- weights: each slot is 1/(k + short_k) of equity, so full books have a gross exposure of 1 (a
  long-only top-k sums to 1); an unfilled slot stays in cash. `weighting = "score"` splits a book's
  share in proportion to each holding's probability (1 − probability for shorts) instead of equally.

Holdings and holding clocks carry over between chunks, and each bar is decided from its own row of
scores, so any chunking gives identical weights.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from engine.kernel.bars import Bars
from engine.overlays.base import OverlayConfig, OverlayContext, OverlayType


class TopKConfig(OverlayConfig):
    k: int = Field(ge=1)
    short_k: int = Field(default=0, ge=0)
    weighting: Literal["equal", "score"] = "equal"
    max_replacements: int | None = Field(default=None, ge=1)
    min_hold_bars: int = Field(default=0, ge=0)

    @field_validator("short_k")
    @classmethod
    def _shorting_allowed(cls, short_k: int, info: ValidationInfo) -> int:
        if short_k and isinstance(info.context, OverlayContext) and not info.context.allow_short:
            raise ValueError("shorting the bottom ranks needs execution.allow_short = true")
        return short_k

    @field_validator("weighting")
    @classmethod
    def _needs_probability(cls, weighting: str, info: ValidationInfo) -> str:
        context = info.context
        if weighting == "score" and isinstance(context, OverlayContext) and not context.signal_is_probability:
            raise ValueError("score weighting needs a model's probability as the signal; use equal")
        return weighting

    @model_validator(mode="after")
    def _fits_the_universe(self, info: ValidationInfo) -> TopKConfig:
        if isinstance(info.context, OverlayContext) and self.k + self.short_k >= len(info.context.symbols):
            symbols = len(info.context.symbols)
            raise ValueError(f"k + short_k ({self.k + self.short_k}) must be fewer than the {symbols} symbols it ranks")
        return self


class Book:
    """One side's holdings and their holding clocks (bars held, the bar chosen counting as 1)."""

    def __init__(self, slots: int, symbols: int) -> None:
        self.slots = slots
        self.held = np.zeros(symbols, dtype=bool)
        self.age = np.zeros(symbols, dtype=np.int64)

    def rebalance(self, order: np.ndarray, scored: np.ndarray, barred: np.ndarray, min_hold: int, replacements: int | None):
        """The holdings after one ranked bar. `order`: columns best first (unscored last); `barred`:
        held by the other book."""
        locked = self.held & (self.age < min_hold)
        free_slots = self.slots - int(locked.sum())
        ranked_free = order[(self.held & ~locked)[order]]
        outsiders = order[(scored & ~self.held & ~barred)[order]]
        if replacements is not None:
            outsiders = outsiders[: replacements + free_slots - len(ranked_free)]
        contenders = np.zeros_like(self.held)
        contenders[ranked_free] = contenders[outsiders] = True
        chosen = locked.copy()
        chosen[order[contenders[order]][:free_slots]] = True
        self.age = np.where(chosen, np.where(self.held, self.age + 1, 1), 0)
        self.held = chosen

    def hold(self) -> None:
        """A bar that ranks nothing: the holdings stay and age."""
        self.age = np.where(self.held, self.age + 1, 0)


class TopKStage:
    name = "top_k"

    def __init__(self, config: TopKConfig, context: OverlayContext) -> None:
        n = len(context.symbols)
        self.config = config
        self._slot = 1.0 / (config.k + config.short_k)
        self._long = Book(config.k, n)
        self._short = Book(config.short_k, n)

    def on_chunk(self, bars: Bars, weights: np.ndarray, signal: np.ndarray | None = None) -> np.ndarray:
        scores = np.asarray(weights, dtype=np.float64)
        out = np.zeros(scores.shape)
        for row, bar_scores in enumerate(scores):
            self._decide(bar_scores)
            out[row] = self._weights(bar_scores)
        return out

    def _decide(self, scores: np.ndarray) -> None:
        scored = np.isfinite(scores)
        if len(np.unique(scores[scored])) < 2:
            self._long.hold()
            self._short.hold()
            return
        columns = np.arange(len(scores))
        # lexsort's last key sorts first: scored before unscored, then by score, then by column.
        best_first = np.lexsort((columns, -np.where(scored, scores, 0.0), ~scored))
        worst_first = np.lexsort((columns, np.where(scored, scores, 0.0), ~scored))
        config = self.config
        self._long.rebalance(best_first, scored, self._short.held, config.min_hold_bars, config.max_replacements)
        self._short.rebalance(worst_first, scored, self._long.held, config.min_hold_bars, config.max_replacements)

    def _weights(self, scores: np.ndarray) -> np.ndarray:
        long, short = self._long.held, self._short.held
        if self.config.weighting == "equal":
            return self._slot * (long.astype(float) - short.astype(float))
        probabilities = np.nan_to_num(scores, nan=0.0)
        return self._split(long, probabilities) - self._split(short, 1.0 - probabilities)

    def _split(self, held: np.ndarray, strength: np.ndarray) -> np.ndarray:
        """The book's share (its holdings' slots) in proportion to `strength`; equally if that is all 0."""
        share = self._slot * int(held.sum())
        strength = np.where(held, np.clip(strength, 0.0, None), 0.0)
        total = strength.sum()
        return share * strength / total if total > 0 else self._slot * held


TOP_K = OverlayType("top_k", "threshold", TopKConfig, TopKStage)
