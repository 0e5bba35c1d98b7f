"""`engine news import`: a user's own articles, from CSV or JSONL, into the news store.

Both hold the store's fields (id, created_at, updated_at, symbols, headline, summary, source, url).
In a CSV, `symbols` is comma-separated text in one cell (quoted: "AAPL,MSFT"); in JSONL, one
article per line, `symbols` a list or such text. Errors name the file's line and the field;
a bad file stores nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from engine.news.store import NewsError, NewsStore

SUFFIXES = (".csv", ".jsonl", ".ndjson")


def import_news(store: NewsStore, path: Path) -> tuple[int, int]:
    """Merge the file's articles into `store`: how many the file holds, and how many ids were new."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise NewsError(f"{source}: file not found")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise NewsError(f"{source}: unsupported file type (use {', '.join(SUFFIXES)})")
    articles, lines = _read_csv(path) if suffix == ".csv" else _read_jsonl(path)
    if articles.empty:
        raise NewsError(f"{source}: holds no articles")
    return len(articles), store.add(articles, source, lines)


def _read_csv(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise NewsError(f"{path}: cannot read as CSV ({' '.join(str(error).split())})") from None
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    return frame, np.arange(2, len(frame) + 2)  # line 1 is the header


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    rows, lines = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise NewsError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise NewsError(f"{path}, line {number}: not JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise NewsError(f"{path}, line {number}: not a JSON object (one article per line)")
        rows.append(row)
        lines.append(number)
    return pd.DataFrame(rows, dtype=object), np.asarray(lines, dtype=np.int64)  # each value as given: 3 stays 3 beside 1.0
