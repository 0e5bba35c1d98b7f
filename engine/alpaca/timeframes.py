"""The store's timeframes (1m, 5m, 15m, 1h, 1d, 1w, …) as alpaca-py's `TimeFrame`.

(The way back, from the wire form `1Hour` a client sends, is the sandbox's: it reads requests.)
"""

from __future__ import annotations

from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from engine.data.store import DataStoreError, check_timeframe

UNITS = {"m": TimeFrameUnit.Minute, "h": TimeFrameUnit.Hour, "d": TimeFrameUnit.Day, "w": TimeFrameUnit.Week}


def to_alpaca(timeframe: str) -> TimeFrame:
    """`1h` → TimeFrame(1, Hour); a size Alpaca does not serve (90m, 2d) is an error saying what it does."""
    check_timeframe(timeframe)
    try:
        return TimeFrame(int(timeframe[:-1]), UNITS[timeframe[-1]])
    except ValueError:
        raise DataStoreError(f"Alpaca has no {timeframe} bars: it serves 1m to 59m, 1h to 23h, 1d and 1w") from None
