"""The time span a fetch asks for, from the user's `--start` and `--end`.

A date or a time; without a zone, UTC. An end given as a date means the whole of that day; no
end means now.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.data.timestamps import parse_utc
from engine.errors import UserError


class SpanError(UserError, ValueError):
    """--start or --end cannot be read, or the span is empty."""


@dataclass(frozen=True)
class Span:
    start: pd.Timestamp  # UTC, inclusive
    end: pd.Timestamp  # UTC, inclusive

    @classmethod
    def parse(cls, start: str, end: str | None = None) -> Span:
        first = _utc(start, "--start")
        if end is None:
            last = pd.Timestamp.now(tz="UTC")
        else:
            last = _utc(end, "--end")
            if ":" not in end and last == last.normalize():
                last += pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)  # Alpaca reads microseconds
        if last < first:
            raise SpanError(f"--end {end} is before --start {start}" if end is not None else f"--start {start} is in the future")
        return cls(first, last)


def _utc(text: str, option: str) -> pd.Timestamp:
    stamp = parse_utc(text)
    if stamp is None:
        raise SpanError(f"{option} {text!r}: give a date (2024-01-31) or a time (2024-01-31T14:30, UTC unless it says)")
    return stamp
