"""Seeded synthetic news for the synthetic universe, with a planted edge (`engine data sample`).

After a share of the hourly bars, an article about the symbol is published within the hour after
the bar's close, so it reaches the next bar. A toned article's headline is positive or negative as
the symbol's return over the `lead_bars` bars after that next bar's close turns out up or down, with
probability `accuracy` (else the opposite); the rest of the articles are neutral. Whatever reads
the tone from the headlines, and only from them, can find the edge: `accuracy` of the direction of
that return, on the bars that have news. With the articles' tones shuffled it is gone.

Every article is labelled: source `synthetic`, ids from 9,000,000,001 (far above Alpaca's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SOURCE = "synthetic"
FIRST_ID = 9_000_000_001
HEADLINES = {
    "positive": (
        "{symbol} beats estimates and raises guidance",
        "{symbol} shares rally on record quarterly profit",
        "analysts upgrade {symbol} after strong sales growth",
        "{symbol} wins major contract, outlook improves",
    ),
    "negative": (
        "{symbol} misses estimates and cuts guidance",
        "{symbol} shares fall on weak quarterly results",
        "analysts downgrade {symbol} after sales decline",
        "{symbol} loses major contract, outlook worsens",
    ),
    "neutral": (
        "{symbol} schedules its annual shareholder meeting",
        "{symbol} names a new board member",
        "{symbol} to present at an industry conference",
    ),
}


@dataclass(frozen=True)
class PlantedEdge:
    seed: int = 20240102
    articles_per_bar: float = 1 / 14  # per symbol: about one article every two trading days
    toned: float = 0.7  # the share of articles that are positive or negative
    accuracy: float = 0.7  # how often a toned article's tone matches the coming return
    lead_bars: int = 5  # the return it foretells: over this many bars after the bar it reaches


def synthetic_news(bars: dict[str, pd.DataFrame], bar_length: pd.Timedelta, edge: PlantedEdge = PlantedEdge()) -> pd.DataFrame:
    """Articles in the news store's columns about the symbols of `bars` (each a frame with
    `timestamp` and `close`, oldest first), planted as the module says."""
    rng = np.random.default_rng(edge.seed)
    rows = []
    for symbol in sorted(bars):
        frame = bars[symbol]
        closes, times = frame["close"].to_numpy(), pd.DatetimeIndex(frame["timestamp"])
        last = len(frame) - 1 - edge.lead_bars  # the bar an article reaches needs its lead ahead of it
        after = np.flatnonzero(rng.random(len(frame)) < edge.articles_per_bar)
        after = after[after + 1 <= last]
        delays = rng.uniform(1.0, bar_length.total_seconds(), len(after))  # strictly after the close
        toned = rng.random(len(after)) < edge.toned
        truthful = rng.random(len(after)) < edge.accuracy
        picks = rng.integers(0, 1 << 30, len(after))
        for bar, delay, is_toned, is_true, pick in zip(after, delays, toned, truthful, picks, strict=True):
            reached = bar + 1
            up = closes[reached + edge.lead_bars] > closes[reached]
            tone = "neutral" if not is_toned else ("positive" if up == is_true else "negative")
            published = times[bar] + bar_length + pd.Timedelta(seconds=float(delay))
            templates = HEADLINES[tone]
            rows.append((published, symbol, templates[pick % len(templates)].format(symbol=symbol)))
    rows.sort(key=lambda row: (row[0], row[1]))
    published = pd.DatetimeIndex([row[0] for row in rows]).floor("s")
    return pd.DataFrame(
        {
            "id": np.arange(FIRST_ID, FIRST_ID + len(rows), dtype=np.int64),
            "created_at": published,
            "updated_at": published,
            "symbols": [[row[1]] for row in rows],
            "headline": [row[2] for row in rows],
            "summary": "",
            "source": SOURCE,
            "url": "",
        }
    )
