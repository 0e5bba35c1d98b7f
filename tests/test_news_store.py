"""The news store keeps every article once, by id (the version updated last), filters by symbol and
time, and refuses bad articles naming the row and field without touching what is stored."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.news.store import NewsError, NewsStore


def articles(*rows) -> pd.DataFrame:
    base = {"summary": "", "source": "benzinga", "url": "https://example.com/a"}
    return pd.DataFrame([base | row for row in rows], dtype=object)  # values as a JSONL line gives them


FIRST = {
    "id": 1,
    "created_at": "2024-01-02T14:30:00Z",
    "updated_at": "2024-01-02T14:30:00Z",
    "symbols": ["AAPL"],
    "headline": "One",
}
SECOND = {
    "id": 2,
    "created_at": "2024-01-03T09:00:00-05:00",
    "updated_at": "2024-01-03T14:00:00Z",
    "symbols": ["MSFT", "AAPL"],
    "headline": "Two",
}


def test_articles_are_stored_once_by_id_keeping_the_latest_update(tmp_path):
    store = NewsStore(tmp_path)
    assert store.add(articles(FIRST, SECOND), "first fetch") == 2
    revised = FIRST | {"updated_at": "2024-01-05T00:00:00Z", "headline": "One, revised"}
    assert store.add(articles(revised, SECOND), "second fetch") == 0
    stored = store.read()
    assert stored["id"].tolist() == [1, 2]
    assert stored["headline"].tolist() == ["One, revised", "Two"]
    assert str(stored["created_at"].dt.tz) == "UTC" and stored["created_at"][1] == pd.Timestamp("2024-01-03T14:00Z")


def test_reading_filters_by_symbol_and_created_time(tmp_path):
    store = NewsStore(tmp_path)
    store.add(articles(FIRST, SECOND), "fetch")
    assert store.read(symbols=["msft"])["id"].tolist() == [2]
    assert store.read(symbols=["AAPL"], start="2024-01-03")["id"].tolist() == [2]
    assert store.read(end="2024-01-02T23:59:59Z")["id"].tolist() == [1]
    assert NewsStore(tmp_path / "empty").read().empty


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"id": "x"}, r"feed\.jsonl, row 2, id: an article's id is a positive whole number"),
        ({"created_at": "yesterday"}, r"row 2, created_at: cannot read time 'yesterday'"),
        ({"symbols": ["../x"]}, r"row 2, symbols: invalid symbol '\.\./x'"),
        ({"headline": " "}, r"row 2, headline: empty headline"),
        ({"id": 1, "updated_at": FIRST["updated_at"]}, r"row 2, id: id 1 appears twice \(with the same updated_at\)"),
        # Ids are exact: what is not a whole number in int64's range is refused, not coerced.
        ({"id": 1.0}, r"row 2, id: an article's id is a positive whole number below 2\*\*63, got 1\.0"),
        ({"id": True}, r"row 2, id: .* got True"),
        ({"id": 1e300}, r"row 2, id: .* got 1e\+300"),
        ({"id": 99999999999999999999}, r"row 2, id: .* got 99999999999999999999"),
        ({"id": 2**63}, r"row 2, id: .* got 9223372036854775808"),
        ({"created_at": 1525183200}, r"row 2, created_at: a time is text, such as 2024-01-02T14:30:00Z, got 1525183200"),
        ({"created_at": "2099-01-03T14:00:00Z"}, r"row 2, created_at: a time still to come: '2099-01-03T14:00:00Z'"),
        ({"updated_at": "2024-01-03T13:00:00Z"}, r"row 2, updated_at: '2024-01-03T13:00:00Z' is before created_at"),
        ({"symbols": 5}, r"row 2, symbols: a list of symbols, or comma-separated text, got 5"),
        ({"symbols": [1, 2]}, r"row 2, symbols: a list of symbols, or comma-separated text, got \[1, 2\]"),
    ],
)
def test_a_bad_article_is_named_and_nothing_is_stored(tmp_path, change, pattern):
    """Each `change` to the second article of a feed (as JSONL's values come: numbers, lists, text)."""
    store = NewsStore(tmp_path)
    store.add(articles(FIRST), "fetch")
    before = store.path.read_bytes()
    with pytest.raises(NewsError, match=pattern):
        store.add(articles(FIRST, SECOND | change), "feed.jsonl")
    assert store.path.read_bytes() == before


def test_an_updated_article_keeps_both_versions_and_reads_as_its_latest(tmp_path):
    store = NewsStore(tmp_path)
    store.add(articles(FIRST), "fetch")
    store.add(articles(FIRST | {"updated_at": "2024-01-05T00:00:00Z", "headline": "One, corrected"}), "fetch")
    assert store.read()["headline"].tolist() == ["One, corrected"]
    assert store.versions()["headline"].tolist() == ["One", "One, corrected"]


def test_a_new_text_under_a_stored_version_is_refused_so_that_no_score_is_left_on_text_it_never_read(tmp_path):
    store = NewsStore(tmp_path)
    store.add(articles(FIRST), "fetch")
    before = store.path.read_bytes()
    with pytest.raises(NewsError, match=r"^feed\.jsonl, row 1, headline: article 1 of 2024-01-02 .* is stored with another text"):
        store.add(articles(FIRST | {"headline": "One, silently rewritten"}), "feed.jsonl")
    assert store.path.read_bytes() == before
    store.add(articles(FIRST), "fetch again")  # the same text again: nothing new, nothing refused
    assert store.path.read_bytes() == before
