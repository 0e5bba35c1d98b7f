"""`engine data fetch --source alpaca` and `engine news fetch` through the real alpaca-py clients,
against the sandbox on loopback serving another workspace's stores.

A scripted middleware in front of the sandbox's routes answers chosen requests itself (a 429, a
503, a malformed page) and lets the others through, so each failure lands on a known page.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response

from engine.alpaca import connection
from engine.data.store import DataStore
from engine.news.store import NewsStore
from engine.sandbox.app import SandboxOptions, sandbox_app
from engine.sandbox.faults import Faults
from engine.sandbox.server import serving_in_thread
from engine.workspace import Workspace
from tests.in_process import engine_here

SYMBOLS = ("AAA", "BBB", "CCC")
PAGE = 40  # items a sandbox page holds: the bars of one fetch span a dozen pages
SERVED = 22 * 7  # bars of each symbol: 22 weekdays of January 2024 after the 1st, 7 hours each
KEY, SECRET = "key-id-7f3a9c", "secret-key-51e0d2b8"
BARS = "GET /v2/stocks/bars (AAA,BBB,CCC, page"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Workspace:
    """The workspace the sandbox serves: hourly bars of three symbols over January 2024, daily bars of
    one over the first quarter, and news."""
    workspace = Workspace(tmp_path_factory.mktemp("served"))
    days = pd.bdate_range("2024-01-02", "2024-01-31", tz="UTC")
    stamps = pd.DatetimeIndex([day + pd.Timedelta(hours=hour) for day in days for hour in range(14, 21)]).as_unit("ns")
    rng = np.random.default_rng(13)
    for number, symbol in enumerate(SYMBOLS):
        close = 50.0 * (number + 1) * np.exp(np.cumsum(rng.normal(0, 0.01, len(stamps))))
        open_ = np.r_[close[0], close[:-1]]
        bars = pd.DataFrame({"timestamp": stamps, "open": open_, "close": close, "volume": rng.integers(1, 9, len(stamps)) * 1e3})
        bars["high"], bars["low"] = np.maximum(open_, close) * 1.002, np.minimum(open_, close) * 0.998
        workspace.data.write(bars, symbol, "1h", origin="synthetic: served by the sandbox", source=symbol)
    days = pd.bdate_range("2024-01-02", "2024-03-29", tz="UTC").as_unit("ns")  # across the change to daylight saving
    close = 80.0 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
    daily = pd.DataFrame({"timestamp": days, "open": close, "high": close * 1.01, "low": close * 0.99, "close": close})
    workspace.data.write(daily.assign(volume=1e6), "AAA", "1d", origin="synthetic: served by the sandbox", source="AAA daily")
    created = pd.date_range("2024-01-02T13:00Z", periods=90, freq="7h")
    workspace.news.add(
        pd.DataFrame(
            {
                "id": np.arange(1, 91),
                "created_at": created,
                "updated_at": created + pd.Timedelta(minutes=5),
                "symbols": [[SYMBOLS[i % 3]] + (["ZZZ"] if i % 4 == 0 else []) for i in range(90)],
                "headline": [f"Story {i}" for i in range(1, 91)],
                "summary": "",
                "source": "benzinga",
                "url": [f"https://example.com/{i}" for i in range(1, 91)],
            }
        ),
        "test articles",
    )
    return workspace


class Scripted:
    """ASGI middleware: the n-th request for data is answered by `script[n]` (a response) or, where
    that is None or the script has run out, by the sandbox; each one's query is kept in `seen`. The
    look-ups of the symbols' assets before a fetch go to the sandbox uncounted."""

    def __init__(self, app, script: list, seen: list) -> None:
        self.app, self.script, self.seen = app, script, seen

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/v2/assets/"):
            return await self.app(scope, receive, send)
        self.seen.append(scope["query_string"].decode())
        answer = self.script.pop(0) if self.script else None
        await (answer or self.app)(scope, receive, send)


@contextmanager
def sandbox(source: Workspace, monkeypatch, script=(), faults: str = "") -> Iterator[list[str]]:
    """The sandbox serving `source` with these faults, ENGINE_ALPACA_URL pointing at it; yields the
    queries that reach its routes."""
    seen: list[str] = []
    middleware = Middleware(Scripted, script=list(script), seen=seen)
    options = SandboxOptions(timeframe="1h", page_size=PAGE, faults=Faults.parse(faults))
    with serving_in_thread(sandbox_app(source, options, extra=[middleware])) as url:
        monkeypatch.setenv("ENGINE_ALPACA_URL", url)
        yield seen


@pytest.fixture
def engine(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    monkeypatch.setenv("ENGINE_ALPACA_MAX_WAIT", "0.01")
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return lambda *args: engine_here(monkeypatch, capsys, *args)


def fetch(engine, end: str = "2024-01-31", start: str = "2024-01-01"):
    return engine("data", "fetch", *SYMBOLS, "--source", "alpaca", "--timeframe", "1h", "--start", start, "--end", end)


def served(source: Workspace, symbol: str, end: str = "2024-02-01") -> pd.DataFrame:
    bars = source.data.read_table(symbol, "1h").to_pandas()
    return bars[bars["timestamp"] < pd.Timestamp(end, tz="UTC")].reset_index(drop=True)


def store_files(home: Path) -> dict[str, bytes]:
    return {str(path.relative_to(home)): path.read_bytes() for path in sorted((home / "data").rglob("*")) if path.is_file()}


def test_a_fetch_over_many_pages_stores_the_served_bars_exactly(engine, source, monkeypatch, tmp_path):
    with sandbox(source, monkeypatch) as seen:
        result = fetch(engine)
    assert result.returncode == 0, result.stderr
    assert len(seen) == -(-3 * SERVED // PAGE)  # every page, and the pages cross from one symbol to the next
    target = DataStore(tmp_path / "data")
    for symbol in SYMBOLS:
        pd.testing.assert_frame_equal(target.read_table(symbol, "1h").to_pandas(), served(source, symbol))
        assert target.describe(symbol, "1h").origin.startswith("alpaca: feed iex, adjustment raw, from http://127.0.0.1:")
    assert result.stdout.splitlines()[0] == (
        f"stored {SERVED} new 1h bars for AAA (now {SERVED} bars, 2024-01-02 14:00:00+00:00 to 2024-01-31 20:00:00+00:00)"
    )


def test_a_rerun_fetches_only_what_is_missing_and_merges_it(engine, source, monkeypatch, tmp_path):
    def spans(queries: list[str]) -> list[tuple[str, str]]:
        asked = [dict(pair.split("=", 1) for pair in query.split("&")) for query in queries]
        return [(unquote(fields["start"]), unquote(fields["end"])) for fields in asked]

    with sandbox(source, monkeypatch) as seen:
        assert fetch(engine, end="2024-01-15").returncode == 0
        seen.clear()
        result = fetch(engine)
        assert result.returncode == 0, result.stderr
        # Before the first stored bar (nothing there), and after the last: never what is stored.
        assert spans(seen) == [
            ("2024-01-01T00:00:00+00:00", "2024-01-02T13:59:59.999999+00:00"),
            ("2024-01-15T20:00:00.000001+00:00", "2024-01-31T23:59:59.999999+00:00"),
        ] + [("2024-01-15T20:00:00.000001+00:00", "2024-01-31T23:59:59.999999+00:00")] * (len(seen) - 2)
        assert f"stored {SERVED - 10 * 7} new 1h bars for AAA (now {SERVED} bars," in result.stdout
        seen.clear()
        again = fetch(engine)
    assert spans(seen) == [  # nothing new: what might have come since the last bar is still asked for
        ("2024-01-01T00:00:00+00:00", "2024-01-02T13:59:59.999999+00:00"),
        ("2024-01-31T20:00:00.000001+00:00", "2024-01-31T23:59:59.999999+00:00"),
    ]
    assert again.stdout.startswith(f"no new 1h bars for AAA (stored: {SERVED} bars,")
    for symbol in SYMBOLS:
        pd.testing.assert_frame_equal(DataStore(tmp_path / "data").read_table(symbol, "1h").to_pandas(), served(source, symbol))


def test_daily_bars_stamped_at_midnight_new_york_are_stored_at_their_dates(engine, source, monkeypatch, tmp_path):
    """Alpaca stamps a day's bar at 05:00 or 04:00 UTC (midnight in New York), the store at 00:00 UTC of
    its date: a fetched series, and one extended past the change to daylight saving, equal the served one."""
    daily = ("data", "fetch", "AAA", "--source", "alpaca", "--timeframe", "1d", "--start", "2024-01-01")
    with sandbox(source, monkeypatch) as seen:
        first = engine(*daily, "--end", "2024-02-29")
        seen.clear()
        extended = engine(*daily, "--end", "2024-03-31")
    assert first.returncode == extended.returncode == 0, first.stderr + extended.stderr
    assert unquote(seen[-1]).split("&")[0] == "start=2024-02-29T05:00:00.000001+00:00"  # after the stored last day
    assert extended.stdout.startswith("stored 21 new 1d bars for AAA (now 64 bars, 2024-01-02 00:00:00+00:00 to 2024-03-29")
    pd.testing.assert_frame_equal(
        DataStore(tmp_path / "data").read_table("AAA", "1d").to_pandas(), source.data.read_table("AAA", "1d").to_pandas()
    )


def test_rate_limits_are_waited_out_and_server_errors_retried_and_nothing_is_duplicated(engine, source, monkeypatch, tmp_path):
    limited = JSONResponse({"code": 42910000, "message": "rate limit exceeded"}, 429, headers={"Retry-After": "2"})
    unavailable = JSONResponse({"code": 50300000, "message": "busy"}, 503)
    with sandbox(source, monkeypatch, [None, limited, limited, None, unavailable, unavailable]):
        result = fetch(engine)
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()[1:]
    assert warnings[:2] == [f"warning: {BARS} 2): rate limited (HTTP 429), waiting 0.01 s as Retry-After asks"] * 2
    assert warnings[2:4] == [
        f"warning: {BARS} 3): HTTP 503: busy, trying again in 0.01 s (try 2 of 5)",
        f"warning: {BARS} 3): HTTP 503: busy, trying again in 0.01 s (try 3 of 5)",
    ]
    for symbol in SYMBOLS:
        pd.testing.assert_frame_equal(DataStore(tmp_path / "data").read_table(symbol, "1h").to_pandas(), served(source, symbol))


def test_a_fetch_through_a_429_storm_and_5xx_bursts_completes_with_nothing_duplicated(engine, source, monkeypatch, tmp_path):
    with sandbox(source, monkeypatch, faults="rate_limit=0.4,retry_after=0.01,server_error=0.25") as seen:
        result = fetch(engine)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    rate_limited = [line for line in warnings if "rate limited (HTTP 429)" in line]
    server_errors = [line for line in warnings if re.search(r"HTTP 50[023]: internal server error, trying again", line)]
    assert len(rate_limited) >= 3 and len(server_errors) >= 2 and len(warnings) == len(rate_limited) + len(server_errors)
    assert len(seen) == len(set(seen))  # each page reached the routes once: refused tries do nothing
    for symbol in SYMBOLS:
        pd.testing.assert_frame_equal(DataStore(tmp_path / "data").read_table(symbol, "1h").to_pandas(), served(source, symbol))


def test_a_reply_that_stalls_times_out_and_is_asked_again(engine, source, monkeypatch, tmp_path):
    monkeypatch.setattr(connection, "TIMEOUT", (5.0, 0.2))  # seconds to connect, and to wait for a reply
    with sandbox(source, monkeypatch, faults="slow=0.3,delay=0.5") as seen:
        result = fetch(engine)
    assert result.returncode == 0, result.stderr
    stalled = [line for line in result.stderr.splitlines() if "in time, trying again" in line]
    assert stalled and all(re.search(r"no reply from http://127\.0\.0\.1:\d+ in time", line) for line in stalled)
    stalled_pages = [line for line in stalled if BARS in line]
    assert len(seen) == len(set(seen)) + len(stalled_pages)  # a stalled page is served again
    for symbol in SYMBOLS:
        pd.testing.assert_frame_equal(DataStore(tmp_path / "data").read_table(symbol, "1h").to_pandas(), served(source, symbol))


def test_a_fetch_failing_on_a_later_page_leaves_the_store_as_it_was_and_a_rerun_completes(engine, source, monkeypatch, tmp_path):
    with sandbox(source, monkeypatch):
        assert fetch(engine, end="2024-01-15").returncode == 0
    before = store_files(tmp_path)
    unavailable = JSONResponse({"code": 50300000, "message": "busy"}, 503)
    # The request before the first stored bar, the first page after the last, then a failing page.
    with sandbox(source, monkeypatch, [None, None, *[unavailable] * 5]):
        failed = fetch(engine)
        assert failed.returncode == 2 and failed.stdout == ""
        assert failed.stderr.splitlines()[-1] == f"error: {BARS} 2): HTTP 503: busy after 5 tries"
        assert store_files(tmp_path) == before
        assert fetch(engine).returncode == 0
    for symbol in SYMBOLS:
        pd.testing.assert_frame_equal(DataStore(tmp_path / "data").read_table(symbol, "1h").to_pandas(), served(source, symbol))


def page(bars: dict, token: str | None = None, raw: str | None = None) -> Response:
    return Response(
        raw if raw is not None else json.dumps({"bars": bars, "next_page_token": token}), 200, media_type="application/json"
    )


def bar(hour: int, **fields) -> dict:
    return {"t": f"2024-01-03T{hour:02}:00:00Z", "o": 10.0, "h": 11.0, "l": 9.0, "c": 10.5, "v": 100, "n": 1, "vw": 10.2} | fields


@pytest.mark.parametrize(
    "script, problem",
    [
        ([page({}, raw="{not json")], "1): the reply is not JSON"),
        ([page({"AAA": [bar(14), {"t": "2024-01-03T15:00:00Z", "o": 1.0}]})], "1): bar 2 of AAA has no 'h' (high)"),
        ([page({"AAA": [bar(14, c="ten")]})], "1): bar 1 of AAA: 'c' is 'ten', not a number"),
        ([page({"AAA": [bar(15), bar(14)]})], "1): AAA's bar at 2024-01-03 14:00:00+00:00 is earlier than the one before"),
        ([page({"AAA": [bar(14), bar(15)]}, "next"), page({"AAA": [bar(15)]})], "2): AAA's bar at 2024-01-03 15:00:00+00:00 rep"),
        ([page({"AAA": [bar(14)]}, "again"), page({"AAA": [bar(15)]}, "again")], "2): next_page_token 'again' was given before"),
        ([page({"AAA": [bar(14)]}, "")], "1): next_page_token is '': a page token is text, and null on the last page"),
        ([page({"XYZ": [bar(14)]})], "1): bars for 'XYZ', which the request did not ask for"),
        ([page({"AAA": [bar(14, l=12.0)]})], "error: Alpaca's 1h bars of AAA, row 1, field 'open': open 10.0 is below low"),
        ([page({"AAA": [bar(14) | {"t": "2023-12-29T14:00:00Z"}]})], "1): AAA's bar at 2023-12-29 14:00:00+00:00 is outside"),
    ],
)  # fmt: skip
def test_a_bad_reply_is_one_line_naming_the_request_and_stores_nothing(engine, source, monkeypatch, tmp_path, script, problem):
    with sandbox(source, monkeypatch, script):
        result = fetch(engine)
    assert result.returncode == 2 and result.stdout == ""
    error = result.stderr.splitlines()[-1]
    assert error.startswith(problem if problem.startswith("error:") else f"error: {BARS} {problem}"), error
    assert store_files(tmp_path) == {}


@pytest.mark.parametrize("command", [("data", "fetch", "--timeframe", "1h"), ("news", "fetch")])
def test_a_symbol_alpaca_lists_no_asset_for_is_one_line_and_nothing_is_fetched(engine, source, monkeypatch, tmp_path, command):
    with sandbox(source, monkeypatch) as seen:
        result = engine(*command, "AAA", "NOPE", "QQQX", "--start", "2024-01-01", "--end", "2024-01-31")
        url = os.environ["ENGINE_ALPACA_URL"]
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"error: unknown symbol: {url} lists no asset for NOPE, QQQX (nothing was fetched)"]
    assert seen == [] and store_files(tmp_path) == {} and not (tmp_path / "data" / "news").exists()


def test_a_daily_bar_not_stamped_at_midnight_new_york_is_a_bad_reply(engine, source, monkeypatch, tmp_path):
    with sandbox(source, monkeypatch, [page({"AAA": [bar(5), bar(0) | {"t": "2024-01-04T00:00:00Z"}]})]):
        result = engine("data", "fetch", "AAA", "--source", "alpaca", "--timeframe", "1d", "--start", "2024-01-01")
    assert result.returncode == 2 and store_files(tmp_path) == {}
    assert result.stderr.splitlines()[-1] == (
        "error: GET /v2/stocks/bars (AAA, page 1): AAA's 1d bar at 2024-01-04 00:00:00+00:00 is not at midnight in New York,"
        " where Alpaca stamps a day's bars"
    )


def test_news_fetch_stores_every_page_once_and_keys_are_never_written(engine, source, monkeypatch, tmp_path):
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    with sandbox(source, monkeypatch) as seen:
        news = engine("news", "fetch", "AAA", "ZZZ", "--start", "2024-01-01", "--end", "2024-01-31")
        again = engine("news", "fetch", "AAA", "ZZZ", "--start", "2024-01-01", "--end", "2024-01-31")
        bars = fetch(engine)
    assert news.returncode == 0 and bars.returncode == 0, news.stderr + bars.stderr
    expected = source.news.read(["AAA", "ZZZ"], end="2024-01-31T23:59:59.999999Z")
    assert len(expected) > PAGE and len([query for query in seen if "page_token" in query]) >= 2
    pd.testing.assert_frame_equal(NewsStore(tmp_path / "data" / "news").read(), expected)
    assert news.stdout.startswith(f"fetched {len(expected)} articles from http://127.0.0.1:")
    assert f", {len(expected)} new, " in news.stdout and ", 0 new, " in again.stdout
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes() and SECRET.encode() not in path.read_bytes(), path
    for output in (news, again, bars):
        assert KEY not in output.stdout + output.stderr and SECRET not in output.stdout + output.stderr


@pytest.mark.parametrize(
    "origin", ["imported: /data/aaa.csv", "alpaca: feed sip, adjustment raw, from https://data.alpaca.markets"]
)
def test_a_series_stored_from_elsewhere_is_not_mixed_with_these_bars(engine, source, monkeypatch, tmp_path, origin):
    DataStore(tmp_path / "data").write(served(source, "AAA", end="2024-01-03"), "AAA", "1h", origin=origin, source="test")
    with sandbox(source, monkeypatch) as seen:
        result = fetch(engine)
    assert result.returncode == 2 and seen == []
    assert result.stderr.strip().startswith(
        f"error: AAA 1h is stored already ({origin}), not as alpaca: feed iex, adjustment raw"
    )


def test_without_keys_only_a_loopback_server_is_used(engine, monkeypatch):
    monkeypatch.setenv("ENGINE_ALPACA_URL", "https://example.com")
    result = fetch(engine)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no Alpaca keys: set APCA_API_KEY_ID and APCA_API_SECRET_KEY")
