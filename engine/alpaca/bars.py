"""`engine data fetch --source alpaca`: historical bars through alpaca-py's StockHistoricalDataClient
into the bar store, validated like an import.

All symbols go in one paged request (pages run across the symbols in order, as Alpaca serves
them), so a fetch costs few requests of Alpaca's 200 a minute. Every page is checked as it comes
(fields present, times readable, each symbol's bars strictly in time order across pages), every
series is validated before any is written, and each is written whole (DataStore.write is atomic):
a fetch that fails or is interrupted before the writes leaves the store as it was.

A series already stored from Alpaca (same feed and adjustment) is extended: only the bars after
its last one (and before its first, when the span starts earlier) are fetched and merged with it,
so running a fetch again costs only what is missing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.requests import StockBarsRequest

from engine import progress
from engine.alpaca.assets import check_known
from engine.alpaca.connection import AlpacaConnection
from engine.alpaca.pages import pages
from engine.alpaca.request import AlpacaRequest
from engine.alpaca.retries import RetryPolicy
from engine.alpaca.span import Span
from engine.alpaca.timeframes import to_alpaca
from engine.data.day_stamps import alpaca_stamps, first_off_day, store_stamps
from engine.data.spacing import check_spacing
from engine.data.store import DataStore, DataStoreError, StoredSeries, normalize_symbol
from engine.data.validation import validate_bars
from engine.kernel.bars import FIELDS

PAGE_LIMIT = 10_000  # Alpaca's most bars a page
WIRE_FIELDS = {"t": "timestamp", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}
AFTER = pd.Timedelta(microseconds=1)  # the next time after a bar that a request can name (Alpaca reads microseconds)


@dataclass(frozen=True)
class FetchedSeries:
    symbol: str
    new_bars: int  # bars this fetch added (0: the stored series was up to date, or Alpaca had none)
    stored: StoredSeries | None  # the series as stored now; None when there is none


def fetch_bars(
    store: DataStore,
    connection: AlpacaConnection,
    symbols: list[str],
    timeframe: str,
    span: Span,
    feed: str = "iex",
    adjustment: str = "raw",
    policy: RetryPolicy | None = None,
) -> list[FetchedSeries]:
    """Fetch what the store lacks of `symbols` over `span`, merge it with what is stored, and
    write each symbol's series whole; every series is checked before any is written."""
    symbols = sorted({normalize_symbol(symbol) for symbol in symbols})
    alpaca_timeframe = to_alpaca(timeframe)
    policy = policy or RetryPolicy.of(connection)
    check_known(connection, symbols, policy)
    origin = f"alpaca: feed {DataFeed(feed).value}, adjustment {Adjustment(adjustment).value}"
    stored = {symbol: _stored_from_alpaca(store, symbol, timeframe, origin) for symbol in symbols}
    groups: dict[Span, list[str]] = defaultdict(list)  # one request for the symbols that miss the same span
    for symbol in symbols:
        for missing in _missing(stored[symbol], span, timeframe):
            groups[missing].append(symbol)

    client = connection.data_client()
    fetched: dict[str, list[pd.DataFrame]] = defaultdict(list)
    requests = sum(len(group) for group in groups.values())
    progress.stage(f"fetching {timeframe} bars of {', '.join(symbols)} from {connection.data_server}", requests, "symbol span")
    for missing in sorted(groups, key=lambda missing: missing.start):  # a symbol's earlier span first: its bars in order
        group = groups[missing]
        request = StockBarsRequest(
            symbol_or_symbols=group,
            timeframe=alpaca_timeframe,
            start=missing.start.to_pydatetime(),
            end=missing.end.to_pydatetime(),
            feed=feed,
            adjustment=adjustment,
            limit=PAGE_LIMIT,
        )
        done = 0.0
        for page, reply in pages(client, AlpacaRequest("/stocks/bars", "v2", tuple(group)), request.to_request_fields(), policy):
            on_page = _page_bars(page, reply, group)
            for symbol, bars in on_page.items():
                _check_place(page, symbol, fetched[symbol], bars, missing)
                _check_day_stamps(page, symbol, bars, timeframe)
                fetched[symbol].append(bars)
            now = _symbols_done(group, on_page, missing, done)
            progress.advance(now - done)
            done = now
        progress.advance(len(group) - done)

    origin += f", from {connection.data_server}"
    merged = {symbol: _merged(store, symbol, stored[symbol], fetched[symbol], timeframe) for symbol in symbols if fetched[symbol]}
    if merged:
        progress.stage(f"storing {len(merged)} series")
    written = {
        symbol: store.write(series, symbol, timeframe, origin, _source(symbol, timeframe)) for symbol, series in merged.items()
    }
    return [
        FetchedSeries(symbol, sum(len(bars) for bars in fetched[symbol]), written.get(symbol, stored[symbol]))
        for symbol in symbols
    ]


def _stored_from_alpaca(store: DataStore, symbol: str, timeframe: str, origin: str) -> StoredSeries | None:
    """The stored series a fetch extends; one from elsewhere, or another feed or adjustment, is not
    mixed with these bars."""
    if not store.has(symbol, timeframe):
        return None
    series = store.describe(symbol, timeframe)
    if series.origin.partition(", from ")[0] != origin:
        raise DataStoreError(
            f"{symbol} {timeframe} is stored already ({series.origin}), not as {origin}: remove it first "
            f"(`engine data rm {symbol} --timeframe {timeframe}`) to store Alpaca's bars in its place"
        )
    return series


def _missing(stored: StoredSeries | None, span: Span, timeframe: str) -> list[Span]:
    """What to fetch: the span, or around a stored series what lies before its first bar and after
    its last (up to them, so that the merged series has no hole), in Alpaca's stamps."""
    if stored is None:
        return [span]
    first, last = alpaca_stamps(pd.DatetimeIndex([stored.first, stored.last]), timeframe)
    before = [Span(span.start, first - AFTER)] if span.start < first else []
    after = [Span(last + AFTER, span.end)] if span.end > last else []
    return before + after


def _page_bars(page: AlpacaRequest, reply: dict, asked: list[str]) -> dict[str, pd.DataFrame]:
    """A page's bars by symbol, as the store's columns; a field missing or unreadable is a bad reply."""
    bars = reply.get("bars")
    if not isinstance(bars, dict):
        raise page.fail(f"the reply's 'bars' is {_shown(bars)}, not an object of symbols")
    frames = {}
    for symbol, rows in bars.items():
        if symbol not in asked:
            raise page.fail(f"bars for {symbol!r}, which the request did not ask for")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise page.fail(f"the bars of {symbol} are not a list of objects")
        if rows:
            frames[symbol] = _bar_frame(page, symbol, rows)
    return frames


def _bar_frame(page: AlpacaRequest, symbol: str, rows: list[dict]) -> pd.DataFrame:
    raw = pd.DataFrame.from_records(rows, columns=list(WIRE_FIELDS))
    for wire, field in WIRE_FIELDS.items():
        absent = raw[wire].isna().to_numpy()
        if absent.any():
            raise page.fail(f"bar {np.flatnonzero(absent)[0] + 1} of {symbol} has no '{wire}' ({field})")
    frame = pd.DataFrame({"timestamp": _times(page, symbol, raw["t"])})
    for wire, field in list(WIRE_FIELDS.items())[1:]:
        values = pd.to_numeric(raw[wire], errors="coerce")
        if values.isna().any():
            position = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise page.fail(f"bar {position + 1} of {symbol}: '{wire}' is {_shown(raw[wire].iloc[position])}, not a number")
        frame[field] = values.to_numpy(dtype=np.float64)
    return frame


def _times(page: AlpacaRequest, symbol: str, raw: pd.Series) -> pd.Series:
    texts = raw.map(lambda value: value if isinstance(value, str) else None)
    times = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce")
    if times.isna().any():
        position = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise page.fail(f"bar {position + 1} of {symbol}: 't' is {_shown(raw.iloc[position])}, not an RFC 3339 time")
    return times.dt.as_unit("ns")


def _check_place(page: AlpacaRequest, symbol: str, before: list[pd.DataFrame], bars: pd.DataFrame, asked: Span) -> None:
    """A symbol's bars lie in the span asked for (a bar outside it would replace a stored one) and,
    on this page and after the pages before, each is strictly later than the last."""
    outside = (bars["timestamp"] < asked.start) | (bars["timestamp"] > asked.end)
    if outside.any():
        at = bars["timestamp"][outside].iloc[0]
        raise page.fail(f"{symbol}'s bar at {at} is outside the span asked for ({asked.start} to {asked.end})")
    times = bars["timestamp"].to_numpy(dtype="datetime64[ns]")
    if before:
        times = np.concatenate([before[-1]["timestamp"].to_numpy(dtype="datetime64[ns]")[-1:], times])
    steps = np.diff(times)
    if (steps <= np.timedelta64(0)).any():
        position = int(np.flatnonzero(steps <= np.timedelta64(0))[0]) + 1
        what = "repeats the one before" if steps[position - 1] == np.timedelta64(0) else "is earlier than the one before"
        at = pd.Timestamp(times[position], tz="UTC")
        raise page.fail(f"{symbol}'s bar at {at} {what}: bars must be in time order, each once")


def _check_day_stamps(page: AlpacaRequest, symbol: str, bars: pd.DataFrame, timeframe: str) -> None:
    """A daily or weekly bar is stamped at midnight New York (engine.data.day_stamps)."""
    position = first_off_day(pd.DatetimeIndex(bars["timestamp"]), timeframe)
    if position is not None:
        at = bars["timestamp"].iloc[position]
        raise page.fail(f"{symbol}'s {timeframe} bar at {at} is not at midnight in New York, where Alpaca stamps a day's bars")


def _symbols_done(group: list[str], on_page: dict[str, pd.DataFrame], missing: Span, before: float) -> float:
    """How many of the group's symbols are fetched after this page: those before the last one on
    it, and the last one by the time its bars reached (pages run through the symbols in order)."""
    if not on_page:
        return before
    under_way = max(on_page)
    reached = on_page[under_way]["timestamp"].iloc[-1]
    part = (reached - missing.start) / (missing.end - missing.start) if missing.end > missing.start else 1.0
    return max(before, group.index(under_way) + min(max(part, 0.0), 1.0))


def _merged(
    store: DataStore, symbol: str, stored: StoredSeries | None, fetched: list[pd.DataFrame], timeframe: str
) -> pd.DataFrame:
    """The fetched bars, checked like an import, merged with the stored series (a fetched bar wins)."""
    new = pd.concat(fetched, ignore_index=True)
    new["timestamp"] = store_stamps(pd.DatetimeIndex(new["timestamp"]), timeframe).as_unit("ns")
    source = _source(symbol, timeframe)
    validate_bars(new, source)
    if stored is not None:
        old = store.read_table(symbol, timeframe).to_pandas()
        new = pd.concat([old[~old["timestamp"].isin(new["timestamp"])], new], ignore_index=True)
        new = new.sort_values("timestamp", kind="stable", ignore_index=True)
    check_spacing(new["timestamp"], timeframe, source)
    return new[["timestamp", *FIELDS]]


def _source(symbol: str, timeframe: str) -> str:
    return f"Alpaca's {timeframe} bars of {symbol}"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
