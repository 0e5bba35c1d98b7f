"""The news store: every article once, by id, in one Parquet file (`data/news/articles.parquet`).

An article has an id (Alpaca's: an integer), its created and updated times (UTC), the symbols it
is about, headline, summary, source and URL. Adding articles merges them with the stored ones by id
and updated time: a fetch run twice, or an import of the same file, stores nothing twice, and an
article updated since it was stored is kept in both versions. Listing and serving show each
article's latest version; the sentiment feature reads the first (its text as first published)
unless asked for the latest. The file is written whole (engine.stores.files.atomic_write): a failed or
interrupted write leaves the store as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data.store import DataStoreError, normalize_symbol
from engine.errors import UserError
from engine.stores.files import atomic_write

COLUMNS = ("id", "created_at", "updated_at", "symbols", "headline", "summary", "source", "url")
TEXT_COLUMNS = ("headline", "summary", "source", "url")
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("created_at", pa.timestamp("ns", tz="UTC")),
        ("updated_at", pa.timestamp("ns", tz="UTC")),
        ("symbols", pa.list_(pa.string())),
        *((column, pa.string()) for column in TEXT_COLUMNS),
    ]
)


class NewsError(UserError, ValueError):
    """Articles break a rule, or the stored file cannot be read; the message names the source, row and field."""


def check_articles(frame: pd.DataFrame, source: str, row_numbers: np.ndarray | None = None) -> pd.DataFrame:
    """The articles in the store's columns and types; an error names `source`, the row and the field.
    `row_numbers`: how the source counts its rows (a CSV's lines), else 1, 2, …"""
    rows = np.arange(1, len(frame) + 1) if row_numbers is None else row_numbers

    def fail(position: int, field: str, problem: str) -> None:
        raise NewsError(f"{source}, row {rows[position]}, {field}: {problem}")

    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise NewsError(f"{source}: missing column(s) {', '.join(missing)} (articles need {', '.join(COLUMNS)})")
    ids = pd.to_numeric(frame["id"], errors="coerce")
    bad = ids.isna() | (ids <= 0) | (ids != ids.round())
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        fail(position, "id", f"an article's id is a positive whole number, got {frame['id'].iloc[position]!r}")
    updated = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce", format="mixed")
    twice = pd.DataFrame({"id": ids, "updated_at": updated}).duplicated()  # one version of an article, twice
    if twice.any():
        position = int(np.flatnonzero(twice.to_numpy())[0])
        fail(position, "id", f"id {int(ids.iloc[position])} appears twice (with the same updated_at)")
    checked = {"id": ids.astype(np.int64)}
    for column in ("created_at", "updated_at"):
        times = pd.to_datetime(frame[column], utc=True, errors="coerce", format="mixed")
        if times.isna().any():
            position = int(np.flatnonzero(times.isna().to_numpy())[0])
            fail(position, column, f"cannot read time {frame[column].iloc[position]!r}")
        checked[column] = times.dt.as_unit("ns")
    symbols = []
    for position, value in enumerate(frame["symbols"]):
        listed = value.split(",") if isinstance(value, str) else list(value) if value is not None else []
        try:
            symbols.append([normalize_symbol(symbol) for symbol in listed if str(symbol).strip()])
        except DataStoreError as error:
            fail(position, "symbols", str(error))
    checked["symbols"] = symbols
    for column in TEXT_COLUMNS:
        texts = frame[column]
        not_text = ~texts.map(lambda value: isinstance(value, str)) & texts.notna()
        if not_text.any():
            position = int(np.flatnonzero(not_text.to_numpy())[0])
            fail(position, column, f"expected text, got {texts.iloc[position]!r}")
        checked[column] = texts.fillna("").astype(str)
    if (checked["headline"].str.strip() == "").any():
        fail(int(np.flatnonzero((checked["headline"].str.strip() == "").to_numpy())[0]), "headline", "empty headline")
    return pd.DataFrame(checked)[list(COLUMNS)].reset_index(drop=True)


class NewsStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def path(self) -> Path:
        return self.root / "articles.parquet"

    def read(self, symbols: list[str] | None = None, start=None, end=None) -> pd.DataFrame:
        """Stored articles in their latest version, oldest first (by created time, then id); with
        `symbols`, those about any of them; `start`/`end` bound the created time (inclusive)."""
        versions = self.versions()
        latest = versions.sort_values(["id", "updated_at"], kind="stable").drop_duplicates("id", keep="last")
        return _about(latest.sort_values(["created_at", "id"], kind="stable"), symbols, start, end)

    def versions(self, symbols: list[str] | None = None, start=None, end=None) -> pd.DataFrame:
        """Every stored version of the articles (as `read` selects them), oldest first by created
        time, id, then updated time."""
        if not self.path.exists():
            return pd.DataFrame({field.name: pd.Series(dtype=object) for field in SCHEMA}).astype(
                {"id": "int64", "created_at": "datetime64[ns, UTC]", "updated_at": "datetime64[ns, UTC]"}
            )
        try:
            articles = pq.read_table(self.path, schema=SCHEMA).to_pandas()
        except (OSError, pa.ArrowException) as error:
            raise NewsError(f"{self.path}: damaged, not a readable news file ({' '.join(str(error).split())})") from None
        articles["symbols"] = articles["symbols"].map(list)
        return _about(articles, symbols, start, end)

    def add(self, articles: pd.DataFrame, source: str, row_numbers: np.ndarray | None = None) -> int:
        """Merge checked `articles` into the store; returns how many ids were new. `row_numbers`: as
        for check_articles."""
        incoming = check_articles(articles, source, row_numbers)
        stored = self.versions()
        new = int((~incoming["id"].isin(stored["id"])).sum())
        merged = pd.concat([stored, incoming], ignore_index=True) if len(stored) else incoming
        merged = merged.drop_duplicates(["id", "updated_at"], keep="last")
        merged = merged.sort_values(["created_at", "id", "updated_at"], kind="stable").reset_index(drop=True)
        table = pa.Table.from_pandas(merged, schema=SCHEMA, preserve_index=False)
        atomic_write(self.path, lambda tmp: pq.write_table(table, tmp))
        return new


def _about(articles: pd.DataFrame, symbols: list[str] | None, start, end) -> pd.DataFrame:
    keep = np.ones(len(articles), dtype=bool)
    if symbols:
        wanted = {normalize_symbol(symbol) for symbol in symbols}
        keep &= articles["symbols"].map(lambda listed: not wanted.isdisjoint(listed)).to_numpy(dtype=bool)
    if start is not None:
        keep &= (articles["created_at"] >= _utc(start)).to_numpy()
    if end is not None:
        keep &= (articles["created_at"] <= _utc(end)).to_numpy()
    return articles[keep].reset_index(drop=True)


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
