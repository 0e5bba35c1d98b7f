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
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from engine.features.dataset import forward_returns
from engine.kernel.bars import Bars

MIN_SYMBOLS = 3  # fewer values than this make no correlation worth the name, across symbols or in a window
ROWS_PER_BLOCK = 1024  # bars correlated at a time: each row stands alone, so blocks bound the temporaries, not the figures
CROSS_SECTIONAL, TIME_SERIES = "cross-sectional", "time-series"
SUMMARY_KEYS = ("ic", "ic_std", "icir", "rank_ic", "rank_ic_std", "rank_icir", "ic_periods")
HEADLINE_KEYS = ("ic", "icir", "rank_ic", "rank_icir")  # what a run's metrics carry


def row_correlations(x: np.ndarray, y: np.ndarray, ranked: bool) -> np.ndarray:
    """Each row's correlation of `x` with `y` over the columns finite in both (Spearman when `ranked`:
    Pearson of the ranks, ties averaged); NaN for a row with fewer than MIN_SYMBOLS such columns or
    no spread in either."""
    both = np.isfinite(x) & np.isfinite(y)
    left, right = np.where(both, x, np.nan), np.where(both, y, np.nan)
    if ranked:
        left, right = rankdata(left, axis=1, nan_policy="omit"), rankdata(right, axis=1, nan_policy="omit")
    count = both.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # rows with nothing or no spread: NaN below anyway
        left_deviation = np.where(both, left - np.where(both, left, 0.0).sum(axis=1, keepdims=True) / count, 0.0)
        right_deviation = np.where(both, right - np.where(both, right, 0.0).sum(axis=1, keepdims=True) / count, 0.0)
        correlation = (left_deviation * right_deviation).sum(axis=1) / np.sqrt(
            (left_deviation**2).sum(axis=1) * (right_deviation**2).sum(axis=1)
        )
    defined = _spread(left, both) & _spread(right, both) & (count[:, 0] >= MIN_SYMBOLS)
    return np.where(defined, correlation, np.nan)


def _spread(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Whether each row's present values are not all equal."""
    return np.where(present, values, -np.inf).max(axis=1, initial=-np.inf) > np.where(present, values, np.inf).min(
        axis=1, initial=np.inf
    )


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

    @cached_property
    def _overall(self) -> dict:
        return summary(self.ics)

    def overall(self) -> dict:
        return dict(self._overall)

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
    close, times, symbols = bars.close, bars.index(), bars.symbols
    basis = CROSS_SECTIONAL if len(symbols) >= MIN_SYMBOLS else TIME_SERIES
    parts = []
    for span, (start, stop) in enumerate(spans):
        if basis == CROSS_SECTIONAL:
            for first in range(start, stop, ROWS_PER_BLOCK):
                rows = slice(first, min(first + ROWS_PER_BLOCK, stop))
                outcomes = _outcomes(close, rows, horizon)
                parts.append(_ics(scores[rows], outcomes, times[rows], [None] * len(outcomes), span))
        elif stop > start:
            parts.append(_time_series_ics(scores, bars, span, slice(start, stop), horizon, window))
    if not parts:  # the columns, with nothing measured
        parts.append(_ics(np.empty((0, 1)), np.empty((0, 1)), times[:0], [], 0))
    return SignalQuality(basis, horizon, window, len(spans), pd.concat(parts, ignore_index=True))


def _time_series_ics(scores: np.ndarray, bars: Bars, span: int, rows: slice, horizon: int, window: int) -> pd.DataFrame:
    """One IC per window of `rows` and symbol (window by window, each window's symbols in order),
    all correlated at once: each window's values as a row, the shorter windows padded with NaN."""
    symbols, length = bars.symbols, rows.stop - rows.start
    windows = np.array_split(np.arange(length), max(1, length // window))
    positions = np.full((len(windows), max(len(part) for part in windows)), -1)
    for number, part in enumerate(windows):
        positions[number, : len(part)] = part
    padding = (positions < 0)[:, None, :]

    def by_window(panel: np.ndarray) -> np.ndarray:  # (bars of the span, symbols) -> (windows x symbols, bars of a window)
        gathered = np.where(padding, np.nan, panel[positions].transpose(0, 2, 1))
        return gathered.reshape(len(windows) * len(symbols), -1)

    ends = bars.index()[rows.start + np.repeat([part[-1] for part in windows], len(symbols))]
    outcomes = _outcomes(bars.close, rows, horizon)
    return _ics(by_window(scores[rows]), by_window(outcomes), ends, list(symbols) * len(windows), span)


def _outcomes(close: np.ndarray, rows: slice, horizon: int) -> np.ndarray:
    """The `horizon`-bar forward returns at `rows` (NaN where the future is not in the data), from
    those rows' closes and the `horizon` after them only."""
    return forward_returns(close[rows.start : rows.stop + horizon], horizon)[: rows.stop - rows.start]


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
