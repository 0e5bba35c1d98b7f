"""`engine news import` and `engine news list`: a user's CSV or JSONL articles into the news store,
each once by id; a bad file is one line naming its line and field, and stores nothing."""

from __future__ import annotations

import json

import pytest

from tests.in_process import engine_here
from tests.test_user_errors import assert_one_line_error

CSV = """id,created_at,updated_at,symbols,headline,summary,source,url
7,2024-01-03T14:00:00Z,2024-01-03T14:00:00Z,"MSFT,AAPL",Two makers merge,,benzinga,https://example.com/7
3,2024-01-02 09:30:00-05:00,2024-01-02T15:00:00Z,AAPL,Apple ships,"A summary, with a comma",reuters,https://example.com/3
"""
TWICE = CSV.replace("\n3,", "\n7,", 1).replace("2024-01-02T15:00:00Z", "2024-01-03T14:00:00Z")  # one version of 7 twice
JSONL = [
    {"id": 3, "created_at": "2024-01-02T14:30:00Z", "updated_at": "2024-01-04T00:00:00Z", "symbols": ["AAPL"],
     "headline": "Apple ships, revised", "summary": "", "source": "reuters", "url": "https://example.com/3",
     "author": "extra fields are ignored"},
    {"id": 9, "created_at": "2024-01-05T00:00:00Z", "updated_at": "2024-01-05T00:00:00Z", "symbols": [],
     "headline": "Markets wait", "summary": "", "source": "benzinga", "url": None},
]  # fmt: skip


@pytest.fixture
def engine(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return lambda *args: engine_here(monkeypatch, capsys, *args)


def write_jsonl(path, rows, blank_line: bool = False) -> None:
    lines = [json.dumps(row) for row in rows]
    if blank_line:
        lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n")


def test_csv_and_jsonl_are_imported_once_by_id_and_listed_oldest_first(engine, tmp_path):
    (tmp_path / "news.csv").write_text(CSV)
    write_jsonl(tmp_path / "news.jsonl", JSONL, blank_line=True)
    first = engine("news", "import", str(tmp_path / "news.csv"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"stored 2 articles from {tmp_path / 'news.csv'}, 2 new, into ")
    again = engine("news", "import", str(tmp_path / "news.csv"))
    assert ", 0 new, " in again.stdout
    assert ", 1 new, " in engine("news", "import", str(tmp_path / "news.jsonl")).stdout
    write_jsonl(tmp_path / "one.jsonl", JSONL[1:])
    assert engine("news", "import", str(tmp_path / "one.jsonl")).stdout.startswith("stored 1 article from ")

    table = engine("news", "list").stdout.splitlines()
    assert table[0].split("\t") == ["id", "created (UTC)", "symbols", "source", "headline"]
    assert table[1:] == [
        "3\t2024-01-02 14:30\tAAPL\treuters\tApple ships, revised",  # the version updated last
        "7\t2024-01-03 14:00\tMSFT,AAPL\tbenzinga\tTwo makers merge",
        "9\t2024-01-05 00:00\t\tbenzinga\tMarkets wait",
    ]
    listed = json.loads(engine("news", "list", "--symbol", "msft", "--json").stdout)
    assert listed == [
        {
            "id": 7,
            "created_at": "2024-01-03T14:00:00+00:00",
            "updated_at": "2024-01-03T14:00:00+00:00",
            "symbols": ["MSFT", "AAPL"],
            "headline": "Two makers merge",
            "summary": "",
            "source": "benzinga",
            "url": "https://example.com/7",
        }
    ]


def test_an_empty_store_lists_nothing(engine):
    assert json.loads(engine("news", "list", "--json").stdout) == []


@pytest.mark.parametrize(
    "name, text, problem",
    [
        ("bad.csv", CSV.replace("14:00:00Z,2024", "yesterday,2024", 1), "bad.csv, row 2, created_at: cannot read time"),
        ("bad.csv", TWICE, "bad.csv, row 3, id: id 7 appears twice"),
        ("bad.csv", CSV.replace("headline,", "title,", 1), "bad.csv: missing column(s) headline"),
        ("bad.jsonl", json.dumps(JSONL[0]) + "\n{not json\n", "bad.jsonl, line 2: not JSON (Expecting property name"),
        ("bad.jsonl", f"{json.dumps(JSONL[0])}\n\n{json.dumps(JSONL[1] | {'symbols': ['x y']})}", "bad.jsonl, row 3, symbols"),
        ("bad.json", "[]", "bad.json: unsupported file type (use .csv, .jsonl, .ndjson)"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_where_and_stores_nothing(engine, tmp_path, name, text, problem):
    (tmp_path / "good.csv").write_text(CSV)
    engine("news", "import", str(tmp_path / "good.csv"))
    stored = (tmp_path / "data" / "news" / "articles.parquet").read_bytes()
    (tmp_path / name).write_text(text)
    result = engine("news", "import", str(tmp_path / name))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {tmp_path / problem}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "data" / "news" / "articles.parquet").read_bytes() == stored


def test_a_missing_file_is_named(engine, tmp_path):
    result = engine("news", "import", str(tmp_path / "nowhere.csv"))
    assert result.returncode == 2 and result.stderr.strip() == f"error: {tmp_path / 'nowhere.csv'}: file not found"


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        (
            '"id": 99999999999999999999',
            r"row 1, id: an article's id is a positive whole number below 2\*\*63, got 99999999999999999999",
        ),
        ('"id": 9223372036854775808', r"row 1, id: .*, got 9223372036854775808"),
        ('"id": 1e300', r"row 1, id: .*, got 1e\+300"),
        ('"id": 1.0', r"row 1, id: .*, got 1\.0"),
        ('"id": true', r"row 1, id: .*, got True"),
    ],
)
def test_an_id_that_is_not_exactly_a_whole_number_is_refused_and_nothing_is_stored(engine, tmp_path, line, pattern):
    """Once coerced (to -2**63, or to 1): each import overwrote a stored article."""
    (tmp_path / "news.csv").write_text(CSV)
    engine("news", "import", str(tmp_path / "news.csv"))
    stored = (tmp_path / "data" / "news" / "articles.parquet").read_bytes()
    fields = ', "created_at": "2024-01-02T14:30:00Z", "updated_at": "2024-01-02T14:30:00Z", "symbols": [], "headline": "h"'
    fields += ', "summary": "", "source": "s", "url": ""'
    (tmp_path / "bad.jsonl").write_text("{" + line + fields + "}\n")
    assert_one_line_error(engine("news", "import", str(tmp_path / "bad.jsonl")), pattern)
    assert (tmp_path / "data" / "news" / "articles.parquet").read_bytes() == stored


def test_a_file_of_no_articles_is_one_line(engine, tmp_path):
    (tmp_path / "empty.csv").write_text(CSV.splitlines()[0] + "\n")
    assert_one_line_error(engine("news", "import", str(tmp_path / "empty.csv")), r"empty\.csv: holds no articles$")
