"""Parquet bar store: one file per symbol and timeframe, validated on write and on read.

Layout under the store root:

    bars/<timeframe>/<SYMBOL>.parquet    the series (UTC timestamp + OHLCV), with its origin in the metadata
                                         (and `engine.volume: missing` when the source had no volume: NaN throughout)
    cache/<timeframe>/<SYMBOL>.arrow     memory-mapped Arrow copy for repeated loads, keyed by the Parquet file's stat

Writes go to a temporary file in the same folder and are renamed into place, so a failed write
leaves the store exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from engine.bars import FIELDS, Bars
from engine.data.validation import BarValidationError, has_no_volume, validate_bars
from engine.errors import UserError
from engine.files import atomic_write

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")
TIMEFRAME_PATTERN = re.compile(r"^[1-9][0-9]*(m|h|d|w)$")

_SCHEMA = pa.schema([("timestamp", pa.timestamp("ns", tz="UTC"))] + [(field, pa.float64()) for field in FIELDS])
_META_ORIGIN = b"engine.origin"
_META_FIRST = b"engine.first"
_META_LAST = b"engine.last"
_META_SOURCE_STAT = b"engine.source_stat"
_META_VOLUME = b"engine.volume"
_VOLUME_MISSING = b"missing"


class DataStoreError(UserError, LookupError):
    """A requested series is not in the store, or a name is not usable."""


@dataclass(frozen=True)
class StoredSeries:
    symbol: str
    timeframe: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    origin: str
    path: Path
    has_volume: bool = True


def normalize_symbol(symbol: str) -> str:
    normalized = symbol.strip().upper()
    if not SYMBOL_PATTERN.match(normalized):
        raise DataStoreError(f"invalid symbol {symbol!r}: use letters, digits, '.', '_' or '-'")
    return normalized


def check_timeframe(timeframe: str) -> str:
    if not TIMEFRAME_PATTERN.match(timeframe):
        raise DataStoreError(f"invalid timeframe {timeframe!r}: use a count and a unit, like 1d, 1h or 15m")
    return timeframe


def _stat_key(path: Path) -> bytes:
    stat = path.stat()
    return f"{stat.st_mtime_ns}:{stat.st_size}".encode()


class DataStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def bars_path(self, symbol: str, timeframe: str) -> Path:
        return self.root / "bars" / check_timeframe(timeframe) / f"{normalize_symbol(symbol)}.parquet"

    def _cache_path(self, symbol: str, timeframe: str) -> Path:
        return self.root / "cache" / timeframe / f"{normalize_symbol(symbol)}.arrow"

    def write(self, frame: pd.DataFrame, symbol: str, timeframe: str, origin: str, source: str) -> StoredSeries:
        """Validate and store a frame with columns timestamp (UTC) and OHLCV, replacing any earlier series."""
        path = self.bars_path(symbol, timeframe)
        validate_bars(frame, source)
        table = pa.Table.from_pandas(frame[["timestamp", *FIELDS]], schema=_SCHEMA, preserve_index=False)
        first, last = frame["timestamp"].iloc[0], frame["timestamp"].iloc[-1]
        metadata = {
            _META_ORIGIN: origin.encode(),
            _META_FIRST: pd.Timestamp(first).isoformat().encode(),
            _META_LAST: pd.Timestamp(last).isoformat().encode(),
        }
        # Only a series without volume carries the key, so every other stored file keeps its exact bytes.
        if has_no_volume(frame["volume"].to_numpy(dtype=np.float64)):
            metadata[_META_VOLUME] = _VOLUME_MISSING
        table = table.replace_schema_metadata(metadata)
        atomic_write(path, lambda tmp: pq.write_table(table, tmp))
        self._cache_path(symbol, timeframe).unlink(missing_ok=True)
        return self.describe(symbol, timeframe)

    def describe(self, symbol: str, timeframe: str) -> StoredSeries:
        path = self.bars_path(symbol, timeframe)
        if not path.exists():
            stored = self.timeframes_of(symbol)
            elsewhere = f" (stored: {', '.join(stored)})" if stored else ""
            raise DataStoreError(f"no {timeframe} bars for {normalize_symbol(symbol)} in {self.root}{elsewhere}")
        metadata = pq.read_metadata(path)
        meta = metadata.metadata or {}
        return StoredSeries(
            symbol=path.stem,
            timeframe=timeframe,
            rows=metadata.num_rows,
            first=pd.Timestamp(meta.get(_META_FIRST, b"").decode() or "NaT"),
            last=pd.Timestamp(meta.get(_META_LAST, b"").decode() or "NaT"),
            origin=meta.get(_META_ORIGIN, b"unknown").decode(),
            path=path,
            has_volume=meta.get(_META_VOLUME) != _VOLUME_MISSING,
        )

    def remove(self, symbol: str, timeframe: str) -> StoredSeries:
        """Delete a stored series and its cache; returns what was removed."""
        removed = self.describe(symbol, timeframe)
        removed.path.unlink()
        self._cache_path(symbol, timeframe).unlink(missing_ok=True)
        return removed

    def list(self) -> list[StoredSeries]:
        bars_root = self.root / "bars"
        if not bars_root.exists():
            return []
        return [self.describe(path.stem, path.parent.name) for path in sorted(bars_root.glob("*/*.parquet"))]

    def timeframes_of(self, symbol: str) -> list[str]:
        name = f"{normalize_symbol(symbol)}.parquet"
        return sorted(path.parent.name for path in (self.root / "bars").glob(f"*/{name}"))

    def has(self, symbol: str, timeframe: str) -> bool:
        return self.bars_path(symbol, timeframe).exists()

    def read_table(self, symbol: str, timeframe: str) -> pa.Table:
        """The stored series as an Arrow table, memory-mapped from the cache when it is current."""
        path = self.bars_path(symbol, timeframe)
        if not path.exists():
            raise DataStoreError(
                f"no {timeframe} bars for {normalize_symbol(symbol)} in {self.root} "
                "(run `engine data sample` or `engine data import`)"
            )
        cache = self._cache_path(symbol, timeframe)
        key = _stat_key(path)
        if cache.exists():
            table = ipc.open_file(pa.memory_map(str(cache))).read_all()
            if (table.schema.metadata or {}).get(_META_SOURCE_STAT) == key:
                return table
        table = pq.read_table(path, schema=_SCHEMA)
        validate_bars(table.to_pandas(), str(path))
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_SOURCE_STAT: key})

        def write_cache(tmp: str) -> None:
            with ipc.new_file(tmp, table.schema) as writer:
                writer.write_table(table)

        atomic_write(cache, write_cache)
        return ipc.open_file(pa.memory_map(str(cache))).read_all()

    def load(
        self,
        symbols: list[str],
        timeframe: str,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
    ) -> Bars:
        """Bars for `symbols` on the timestamps they all share, within [start, end] (inclusive)."""
        tables = [self.read_table(symbol, timeframe) for symbol in symbols]
        stamps = [table.column("timestamp").to_numpy().astype("datetime64[ns]") for table in tables]
        common = stamps[0]
        for other in stamps[1:]:
            common = np.intersect1d(common, other, assume_unique=True)
        if start is not None:
            common = common[common >= _utc(start).to_datetime64()]
        if end is not None:
            end_ts = _utc(end)
            if end_ts == end_ts.normalize() and not (isinstance(end, str) and ":" in end):
                end_ts = end_ts + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")  # a date means the whole day
            common = common[common <= end_ts.to_datetime64()]
        if len(common) == 0:
            raise DataStoreError(
                f"no {timeframe} bars shared by {', '.join(symbols)} between {start or 'the start'} and {end or 'the end'}"
            )
        columns = {field: np.empty((len(common), len(symbols))) for field in FIELDS}
        for j, (table, ts) in enumerate(zip(tables, stamps, strict=True)):
            rows = np.searchsorted(ts, common)
            for field in FIELDS:
                columns[field][:, j] = table.column(field).to_numpy()[rows]
        return Bars(common, tuple(normalize_symbol(s) for s in symbols), **columns)


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


__all__ = ["BarValidationError", "DataStore", "DataStoreError", "StoredSeries"]
