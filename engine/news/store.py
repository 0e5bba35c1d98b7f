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
    ids = frame["id"].map(_article_id)
    if ids.isna().any():
        position = int(np.flatnonzero(ids.isna().to_numpy())[0])
        fail(position, "id", f"an article's id is a positive whole number below 2**63, got {frame['id'].iloc[position]!r}")
    checked = {"id": ids.astype(np.int64)}
    latest = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)  # a clock a little ahead is no reason to refuse
    for column in ("created_at", "updated_at"):
        for position, value in enumerate(frame[column]):
            if isinstance(value, bool | int | float | np.number) and not pd.isna(value):  # an epoch's unit would be a guess
                fail(position, column, f"a time is text, such as 2024-01-02T14:30:00Z, got {value!r}")
        times = pd.to_datetime(frame[column], utc=True, errors="coerce", format="mixed")
        unreadable = times.isna() | (times > latest)
        if unreadable.any():
            position = int(np.flatnonzero(unreadable.to_numpy())[0])
            problem = "cannot read time" if pd.isna(times.iloc[position]) else "a time still to come:"
            fail(position, column, f"{problem} {frame[column].iloc[position]!r}")
        checked[column] = times.dt.as_unit("ns")
    twice = pd.DataFrame({"id": checked["id"], "updated_at": checked["updated_at"]}).duplicated()  # one version, twice
    if twice.any():
        position = int(np.flatnonzero(twice.to_numpy())[0])
        fail(position, "id", f"id {int(checked['id'].iloc[position])} appears twice (with the same updated_at)")
    before = checked["updated_at"] < checked["created_at"]
    if before.any():
        position = int(np.flatnonzero(before.to_numpy())[0])
        fail(
            position,
            "updated_at",
            f"{frame['updated_at'].iloc[position]!r} is before created_at {frame['created_at'].iloc[position]!r}",
        )
    symbols = []
    for position, value in enumerate(frame["symbols"]):
        listed = value.split(",") if isinstance(value, str) else value if isinstance(value, list | np.ndarray) else None
        if value is not None and (listed is None or not all(isinstance(symbol, str) for symbol in listed)):
            fail(position, "symbols", f"a list of symbols, or comma-separated text, got {value!r}")
        try:
            symbols.append([normalize_symbol(symbol) for symbol in listed or [] if symbol.strip()])
        except DataStoreError as error:
            fail(position, "symbols", str(error))
    checked["symbols"] = symbols
    for column in TEXT_COLUMNS:
        texts = frame[column]
        not_text = ~texts.map(lambda value: isinstance(value, str)).astype(bool) & texts.notna()
        if not_text.any():
            position = int(np.flatnonzero(not_text.to_numpy())[0])
            fail(position, column, f"expected text, got {texts.iloc[position]!r}")
        checked[column] = texts.fillna("").astype(str)
    if (checked["headline"].str.strip() == "").any():
        fail(int(np.flatnonzero((checked["headline"].str.strip() == "").to_numpy())[0]), "headline", "empty headline")
    return pd.DataFrame(checked)[list(COLUMNS)].reset_index(drop=True)


def _article_id(value) -> int | None:
    """An id exactly as given: a whole number, or text of one (as a CSV holds it), in int64's range;
    None for anything else (1.0, 1e300, true), which would be a coerced guess."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return None
    return int(value) if 0 < value < 2**63 else None


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
        _refuse_rewritten_text(incoming, stored, source, row_numbers)
        new = int((~incoming["id"].isin(stored["id"])).sum())
        merged = pd.concat([stored, incoming], ignore_index=True) if len(stored) else incoming
        merged = merged.drop_duplicates(["id", "updated_at"], keep="last")
        merged = merged.sort_values(["created_at", "id", "updated_at"], kind="stable").reset_index(drop=True)
        table = pa.Table.from_pandas(merged, schema=SCHEMA, preserve_index=False)
        atomic_write(self.path, lambda tmp: pq.write_table(table, tmp))
        return new


def _refuse_rewritten_text(incoming: pd.DataFrame, stored: pd.DataFrame, source: str, row_numbers: np.ndarray | None) -> None:
    """A stored version's text is what its scores scored: a new text under the same id and
    updated_at would leave them on text they never read. It needs a new updated_at."""
    key = ["id", "updated_at"]
    both = (
        incoming[[*key, "headline", "summary"]]
        .reset_index()
        .merge(stored[[*key, "headline", "summary"]], on=key, suffixes=("", "_stored"))
    )
    rewritten = both[(both["headline"] != both["headline_stored"]) | (both["summary"] != both["summary_stored"])]
    if len(rewritten):
        first = rewritten.iloc[0]
        row = int(first["index"]) + 1 if row_numbers is None else row_numbers[int(first["index"])]
        raise NewsError(
            f"{source}, row {row}, headline: article {first['id']} of {first['updated_at']:%Y-%m-%d %H:%M:%S} is stored with "
            "another text; a changed text is a new version: give it a new updated_at"
        )


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
