"""Market-data REST as alpaca-py's StockHistoricalDataClient and NewsClient use it: bars from the
engine's bar store, news from its news store, both paged by an opaque `next_page_token`.

While a replay runs (`--from`), nothing is served from its future: a bar only once it has closed by
the sandbox's clock (its time plus its length), an article once it was published, as Alpaca serves
nothing ahead of now. Without one, the whole store is history. A bar request without `start`
starts, as Alpaca's does, at the beginning of the current day in New York (by the replayed clock).

A page holds at most `limit` items (and never more than the sandbox's page size, Alpaca's 10,000 for
bars and 50 for news unless the sandbox is started with a smaller one, so tests can page through a
little data). Bar pages run across the symbols in order: a token names the symbol and time where the
next page starts. The last page's token is null, never "": alpaca-py would loop on an empty one.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.data.day_stamps import alpaca_stamps, stamped_by_day
from engine.data.store import DataStore, DataStoreError, bar_length, normalize_symbol
from engine.kernel.bars import EXCHANGE_ZONE
from engine.news.store import NewsStore
from engine.sandbox.wire import (
    BAD_REQUEST,
    NOT_FOUND,
    SERVER_ERROR,
    AlpacaError,
    invalid,
    query_int,
    query_list,
    query_time,
    timestamp,
)

MAX_BARS_PAGE = 10_000
MAX_NEWS_PAGE = 50
_TIMEFRAME = re.compile(r"^([1-9][0-9]*)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
# Alpaca's units onto the store's; the store holds no months, so a month timeframe finds no bars.
_STORE_UNITS = {"Min": "m", "T": "m", "Hour": "h", "H": "h", "Day": "d", "D": "d", "Week": "w", "W": "w"}
# The amounts Alpaca takes of each unit: 1-59 minutes, 1-23 hours, one day or week, some months.
_AMOUNTS = {"m": range(1, 60), "h": range(1, 24), "d": (1,), "w": (1,), "Month": (1, 2, 3, 4, 6, 12), "M": (1, 2, 3, 4, 6, 12)}


@dataclass(frozen=True)
class MarketData:
    bars: DataStore
    news: NewsStore
    now: Callable[[], pd.Timestamp] | None  # the replayed clock's time; None: no replay, all is history
    page_size: int = MAX_BARS_PAGE  # the most items any page holds, whatever `limit` asks

    async def get_bars(self, request: Request) -> JSONResponse:
        symbols = sorted({_symbol(symbol) for symbol in query_list(request, "symbols")})
        if not symbols:
            raise invalid("missing symbols")
        timeframe = store_timeframe(request.query_params.get("timeframe", ""))
        start, end = query_time(request, "start"), query_time(request, "end")
        if start is None:  # Alpaca's default: the start of the current day in New York
            now = pd.Timestamp.now(tz="UTC") if self.now is None else self.now()
            start = now.tz_convert(EXCHANGE_ZONE).normalize().tz_convert("UTC")
        if timeframe is not None and self.now is not None:  # the latest bar that has closed by now
            closed = self.now() - bar_length(timeframe)
            end = closed if end is None else min(end, closed)
        if request.query_params.get("sort", "asc") != "asc":
            raise invalid("the sandbox serves bars oldest first only (sort=asc)")
        room = min(query_int(request, "limit", 1000, MAX_BARS_PAGE), self.page_size)
        resume = _decode_token(request.query_params.get("page_token"))
        if resume is not None and resume[0] not in symbols:
            raise AlpacaError(400, BAD_REQUEST, "invalid page_token")
        pages: dict[str, list[dict]] = {}
        next_token = None
        for symbol in symbols:
            if resume is not None and symbol < resume[0]:
                continue
            table = self._table(symbol, timeframe)
            if table is None:
                continue
            times = table.column("timestamp").cast(pa.int64()).to_numpy()
            first = _first_index(times, start, resume[1] if resume is not None and symbol == resume[0] else None)
            last = len(times) if end is None else int(np.searchsorted(times, end.value, side="right"))
            if first >= last:
                continue
            if room == 0:
                next_token = _encode_token(symbol, int(times[first]))
                break
            take = min(room, last - first)
            pages[symbol] = _bar_rows(table, first, first + take)
            room -= take
            if first + take < last:
                next_token = _encode_token(symbol, int(times[first + take]))
                break
        return JSONResponse({"bars": pages, "next_page_token": next_token})

    def _table(self, symbol: str, timeframe: str | None) -> pa.Table | None:
        """The stored series, its bars stamped as Alpaca stamps them (a day's at midnight New York)."""
        if timeframe is None or not self.bars.has(symbol, timeframe):
            return None
        try:
            table = self.bars.read_table(symbol, timeframe)
        except DataStoreError as error:  # a damaged file: the server's fault, said plainly
            raise AlpacaError(500, SERVER_ERROR, str(error)) from None
        if not stamped_by_day(timeframe):
            return table
        stamps = alpaca_stamps(pd.DatetimeIndex(table.column("timestamp").to_pandas()), timeframe)
        column = table.schema.get_field_index("timestamp")
        return table.set_column(column, "timestamp", pa.array(stamps, type=table.schema.field("timestamp").type))

    async def get_asset(self, request: Request) -> JSONResponse:
        """An asset as Alpaca's trading API describes it: the sandbox lists one for every symbol its
        stores hold bars or news of, and answers any other with Alpaca's 404."""
        symbol = _symbol(request.path_params["symbol"])
        if not self.bars.timeframes_of(symbol) and self.news.read([symbol]).empty:
            raise AlpacaError(404, NOT_FOUND, f"asset not found for {symbol}")
        return JSONResponse(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"engine-sandbox/{symbol}")),
                "class": "us_equity",
                "exchange": "NASDAQ",
                "symbol": symbol,
                "name": symbol,
                "status": "active",
                "tradable": True,
                "marginable": False,
                "shortable": False,
                "easy_to_borrow": False,
                "fractionable": True,
            }
        )

    async def get_news(self, request: Request) -> JSONResponse:
        symbols = [_symbol(symbol) for symbol in query_list(request, "symbols")]
        order = request.query_params.get("sort", "desc")
        if order not in ("asc", "desc"):
            raise invalid(f"invalid sort: {order!r} (asc or desc)")
        room = min(query_int(request, "limit", 10, MAX_NEWS_PAGE), self.page_size)
        end = query_time(request, "end")
        if self.now is not None:
            end = self.now() if end is None else min(end, self.now())
        articles = self.news.read(symbols or None, query_time(request, "start"), end)
        keys = list(zip(articles["created_at"].map(lambda stamp: stamp.value), articles["id"], strict=True))
        positions = list(range(len(articles)))
        if order == "desc":  # Alpaca's default: newest first
            positions.reverse()
        mark = _news_mark(request.query_params.get("page_token"))
        if mark is not None:
            positions = [p for p in positions if (keys[p] >= mark if order == "asc" else keys[p] <= mark)]
        page, rest = positions[:room], positions[room:]
        next_token = _encode_token(str(keys[rest[0]][1]), int(keys[rest[0]][0])) if rest else None
        return JSONResponse({"news": [_article(articles.iloc[p]) for p in page], "next_page_token": next_token})


def store_timeframe(alpaca: str) -> str | None:
    """The store's name for an Alpaca timeframe (`1Hour` → `1h`); None for one the store cannot hold."""
    match = _TIMEFRAME.match(alpaca)
    unit = None if match is None else _STORE_UNITS.get(match.group(2))
    if match is None or int(match.group(1)) not in _AMOUNTS[unit or match.group(2)]:
        raise invalid(f"invalid timeframe: {alpaca!r} (1-59Min, 1-23Hour, 1Day, 1Week or 1, 2, 3, 4, 6, 12Month)")
    return None if unit is None else f"{match.group(1)}{unit}"


def _symbol(text: str) -> str:
    try:
        return normalize_symbol(text)
    except DataStoreError as error:
        raise AlpacaError(400, BAD_REQUEST, str(error)) from None


def _first_index(times: np.ndarray, start: pd.Timestamp | None, resume_ns: int | None) -> int:
    bounds = [value for value in (None if start is None else start.value, resume_ns) if value is not None]
    return int(np.searchsorted(times, max(bounds), side="left")) if bounds else 0


def _bar_rows(table: pa.Table, first: int, stop: int) -> list[dict]:
    rows = table.slice(first, stop - first)
    # A series stored without volume has NaN there; alpaca-py's Bar needs a number.
    volume = pc.fill_null(pc.if_else(pc.is_nan(rows.column("volume")), 0.0, rows.column("volume")), 0.0)
    return [
        {"t": timestamp(t), "o": o, "h": h, "l": low, "c": c, "v": v, "n": None, "vw": None}
        for t, o, h, low, c, v in zip(
            *(rows.column(name).to_pylist() for name in ("timestamp", "open", "high", "low", "close")),
            volume.to_pylist(),
            strict=True,
        )
    ]


def _article(article: pd.Series) -> dict:
    # The store keeps no author or content; alpaca-py needs both fields, so they go out empty.
    return {
        "id": int(article["id"]),
        "headline": article["headline"],
        "author": "",
        "created_at": timestamp(article["created_at"]),
        "updated_at": timestamp(article["updated_at"]),
        "summary": article["summary"],
        "content": "",
        "url": article["url"] or None,
        "images": [],
        "symbols": list(article["symbols"]),
        "source": article["source"],
    }


def _encode_token(name: str, nanoseconds: int) -> str:
    return base64.urlsafe_b64encode(f"{name}|{nanoseconds}".encode()).decode()


def _decode_token(token: str | None) -> tuple[str, int] | None:
    """(symbol or article id, time in ns) where the next page starts; a token the sandbox did not make is refused."""
    if not token:
        return None
    try:
        name, _, nanoseconds = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return name, int(nanoseconds)
    except ValueError:
        raise AlpacaError(400, BAD_REQUEST, "invalid page_token") from None


def _news_mark(token: str | None) -> tuple[int, int] | None:
    """(created time in ns, id) of the article the next news page starts at."""
    resume = _decode_token(token)
    if resume is None:
        return None
    if not resume[0].isdigit():
        raise AlpacaError(400, BAD_REQUEST, "invalid page_token")
    return resume[1], int(resume[0])
