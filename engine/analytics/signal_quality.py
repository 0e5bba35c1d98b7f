"""Signal quality: how well a score ranks what followed it, as the information coefficient.

The score at bar t is what the signal stage output at t (a model's out-of-sample probability,
causal); the outcome is the return the model's label is made of (engine.features.dataset): from
t's close to the close `horizon` bars later. IC is their Pearson correlation, RankIC their Spearman
correlation (Pearson of the ranks, ties averaged), computed after the fact.

- Cross-sectional (MIN_SYMBOLS or more symbols): one IC per bar, across the symbols with a finite
  score and outcome there (a bar with fewer than MIN_SYMBOLS of them, or with no spread in either,
  has none).
- Time series (a universe too small to rank across): one IC per symbol per window, over time; each
  span (a walk-forward fold's block) is cut into `len // window` windows of nearly equal length,
  so no window crosses from one fold's model to the next.

Over these ICs: their mean, standard deviation (ddof 1) and IR = mean / std, not annualized (as
Qlib's ICIR). With a horizon over one bar, neighbouring bars' outcomes overlap, so the per-bar
ICs are autocorrelated: the IR describes their stability, it is no t-statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.features.dataset import forward_returns
from engine.kernel.bars import Bars

MIN_SYMBOLS = 3  # fewer values than this make no correlation worth the name, across symbols or in a window
CROSS_SECTIONAL, TIME_SERIES = "cross-sectional", "time-series"
SUMMARY_KEYS = ("ic", "ic_std", "icir", "rank_ic", "rank_ic_std", "rank_icir", "ic_periods")
HEADLINE_KEYS = ("ic", "icir", "rank_ic", "rank_icir")  # what a run's metrics carry


def row_correlations(x: np.ndarray, y: np.ndarray, ranked: bool) -> np.ndarray:
    """Each row's correlation of `x` with `y` over the columns finite in both (Spearman when `ranked`);
    NaN for a row with fewer than MIN_SYMBOLS such columns or no spread in either."""
    both = np.isfinite(x) & np.isfinite(y)
    left, right = pd.DataFrame(np.where(both, x, np.nan)), pd.DataFrame(np.where(both, y, np.nan))
    if ranked:
        left, right = left.rank(axis=1), right.rank(axis=1)
    spread = ((left.max(axis=1) > left.min(axis=1)) & (right.max(axis=1) > right.min(axis=1))).to_numpy()
    defined = spread & (both.sum(axis=1) >= MIN_SYMBOLS)
    with np.errstate(invalid="ignore", divide="ignore"):  # rows without spread, NaN below anyway
        correlation = left.corrwith(right, axis=1).to_numpy()
    return np.where(defined, correlation, np.nan)


def summary(ics: pd.DataFrame) -> dict[str, float | int | None]:
    """Mean, standard deviation and IR of the IC and RankIC periods in `ics`."""
    figures: dict[str, float | int | None] = {}
    for name in ("ic", "rank_ic"):
        values = ics[name].dropna()
        mean = float(values.mean()) if len(values) else None
        std = float(values.std()) if len(values) > 1 else None
        figures |= {name: mean, f"{name}_std": std, f"{name}ir": mean / std if std else None}
    figures["ic_periods"] = int(ics["rank_ic"].notna().sum())
    return figures


@dataclass(frozen=True)
class SignalQuality:
    basis: str  # CROSS_SECTIONAL or TIME_SERIES
    horizon: int  # bars ahead of each score its outcome ends
    window: int  # bars per time-series window
    spans: int  # how many spans (walk-forward folds) were measured
    ics: pd.DataFrame  # timestamp (a bar, or a window's last), symbol (None across symbols), span, ic, rank_ic

    def overall(self) -> dict:
        return summary(self.ics)

    def by_span(self) -> list[dict]:
        """The summary of each span in the order given, empty ones too."""
        return [summary(self.ics[self.ics["span"] == span]) for span in range(self.spans)]

    def by_symbol(self) -> dict[str, dict] | None:
        """Each symbol's summary over its windows, for the time-series basis."""
        if self.basis != TIME_SERIES:
            return None
        return {symbol: summary(group) for symbol, group in self.ics.groupby("symbol", sort=False)}

    def headline(self) -> dict:
        overall = self.overall()
        return {key: overall[key] for key in HEADLINE_KEYS}

    def to_record(self) -> dict:
        """signal_quality.json: the definitions used, and the figures overall, per span and per symbol."""
        return {
            "basis": self.basis,
            "horizon": self.horizon,
            "window": self.window if self.basis == TIME_SERIES else None,
            "min_symbols": MIN_SYMBOLS,
            "overall": self.overall(),
            "folds": self.by_span(),
            "by_symbol": self.by_symbol(),
        }


def signal_quality(scores: np.ndarray, bars: Bars, horizon: int, spans: list[tuple[int, int]], window: int) -> SignalQuality:
    """The IC of `scores` (one row per bar of `bars`, one column per symbol) against the `horizon`-bar
    forward return of the closes, over the rows [start, stop) of each span."""
    outcomes, times, symbols = forward_returns(bars.close, horizon), bars.index(), bars.symbols
    basis = CROSS_SECTIONAL if len(symbols) >= MIN_SYMBOLS else TIME_SERIES
    parts = []
    for span, (start, stop) in enumerate(spans):
        if basis == CROSS_SECTIONAL:
            parts.append(_ics(scores[start:stop], outcomes[start:stop], times[start:stop], [None] * (stop - start), span))
            continue
        for rows in np.array_split(np.arange(start, stop), max(1, (stop - start) // window)):
            if len(rows):
                ends = times[np.repeat(rows[-1], len(symbols))]
                parts.append(_ics(scores[rows].T, outcomes[rows].T, ends, list(symbols), span))
    if not parts:  # the columns, with nothing measured
        parts.append(_ics(np.empty((0, 1)), np.empty((0, 1)), times[:0], [], 0))
    return SignalQuality(basis, horizon, window, len(spans), pd.concat(parts, ignore_index=True))


def _ics(scores: np.ndarray, outcomes: np.ndarray, timestamps: pd.DatetimeIndex, symbols: list, span: int) -> pd.DataFrame:
    """One row per row of `scores`: its IC and RankIC against the same row of `outcomes`."""
    return pd.DataFrame(
        {
            "timestamp": timestamps,
            "symbol": pd.Series(symbols, dtype=object),
            "span": np.full(len(symbols), span),
            "ic": row_correlations(scores, outcomes, ranked=False),
            "rank_ic": row_correlations(scores, outcomes, ranked=True),
        }
    )
