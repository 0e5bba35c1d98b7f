"""The replayed market: the session's bars on one timeline, released one at a time.

The sandbox's "now" is the close of the last released bar (its time plus the bar's length), the
moment it would have arrived live. The market is open when a bar starts at that moment; a session
is a run of bars with no gap between them. Bars are released by the admin endpoint (`--step`,
deterministic, what most tests use), at `--speed X` one every bar length / X seconds of real time,
skipping the gaps between sessions, or at `--speed 0` as the streams' consumers take them
(engine.sandbox.streams); the admin endpoint moves the clock at any speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.data.day_stamps import alpaca_stamps
from engine.data.store import DataStore, DataStoreError
from engine.kernel.bars import FIELDS, Bars


def replayed_bars(store: DataStore, symbols: list[str], timeframe: str) -> Bars:
    """The symbols' bars on the union of their timestamps, NaN where a symbol has no bar (a backtest
    loads the timestamps they share; a market has every symbol's bars), stamped as Alpaca stamps
    them: a day's bar at midnight New York, so the clock and the streams tell Alpaca's times."""
    if not symbols:
        raise DataStoreError(f"no {timeframe} bars in {store.root} to replay (`engine data sample` writes some)")
    frames = {symbol: store.read_table(symbol, timeframe).to_pandas().set_index("timestamp") for symbol in symbols}
    timeline = frames[symbols[0]].index
    for frame in frames.values():
        timeline = timeline.union(frame.index)
    fields = [np.column_stack([frames[symbol][field].reindex(timeline).to_numpy() for symbol in symbols]) for field in FIELDS]
    timeline = alpaca_stamps(timeline, timeframe)
    return Bars(timeline.asi8.astype("datetime64[ns]"), tuple(symbols), *fields)


class ReplayClock:
    def __init__(
        self,
        bars: Bars,
        length: pd.Timedelta,
        start: pd.Timestamp | None = None,
        speed: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bars, self.bar_length = bars, length
        self.timeline = timeline = bars.index()
        # No start: the replay is over, every stored bar is history (what `engine data fetch` rehearses on).
        first = len(timeline) - 1 if start is None else int(timeline.searchsorted(start))
        if first == len(timeline):
            raise DataStoreError(f"no bars to replay from {start} (the last is at {timeline[-1]})")
        self._first, self._speed, self._monotonic = first, speed, monotonic
        self._started = monotonic()
        self._advanced = 0
        ends = timeline + length
        # A session starts where the bar before it does not end; each bar's session ends with its last bar.
        starts = np.ones(len(timeline), dtype=bool)
        starts[1:] = timeline[1:] != ends[:-1]
        session = np.cumsum(starts) - 1
        last_of_session = np.flatnonzero(np.append(starts[1:], True))
        self._session, self._session_close = session, ends[last_of_session]

    @property
    def released(self) -> int:
        """The index of the last released bar."""
        elapsed = (self._monotonic() - self._started) * self._speed / self.bar_length.total_seconds()
        return min(self._first + self._advanced + int(elapsed), len(self.timeline) - 1)

    def seconds_to_next(self) -> float | None:
        """Real seconds until the clock releases the next bar by itself; None when it never will."""
        if self._speed == 0 or self.released == len(self.timeline) - 1:
            return None
        bar_seconds = self.bar_length.total_seconds() / self._speed
        elapsed = self._monotonic() - self._started
        return bar_seconds - elapsed % bar_seconds

    def advance(self, bars: int) -> int:
        self._advanced += bars
        return self.released

    def state(self) -> dict[str, pd.Timestamp | bool]:
        """Now, whether the market is open, and when it next opens and closes. After the last bar the
        replay is over: closed, with both times at its end."""
        timeline, index = self.timeline, self.released
        now = timeline[index] + self.bar_length
        following = index + 1
        if following == len(timeline):
            return {"timestamp": now, "is_open": False, "next_open": now, "next_close": now}
        is_open = bool(timeline[following] == now)
        session = self._session[following]
        if not is_open:
            return {
                "timestamp": now,
                "is_open": False,
                "next_open": timeline[following],
                "next_close": self._session_close[session],
            }
        later = np.flatnonzero(self._session == session + 1)
        next_open = timeline[later[0]] if len(later) else self._session_close[session]
        return {"timestamp": now, "is_open": True, "next_open": next_open, "next_close": self._session_close[session]}
