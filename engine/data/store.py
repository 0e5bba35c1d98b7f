"""Parquet bar store: one file per symbol and timeframe, validated on write and on read.

Layout under the store root:

    bars/<timeframe>/<SYMBOL>.parquet    the series (UTC timestamp + OHLCV), with its origin in the metadata
                                         (and `engine.volume: missing` when the source had no volume: NaN throughout)
    cache/<timeframe>/<SYMBOL>.arrow     memory-mapped Arrow copy for repeated loads, keyed by the Parquet file's stat

Writes go to a temporary file in the same folder and are renamed into place, so a failed write
leaves the store exactly as it was. A file that cannot be read as a bar series (truncated, or
written over by something else) is listed as damaged; the other series stay usable.
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

from engine.data.timestamps import EARLIEST, LATEST
from engine.data.validation import BarValidationError, has_no_volume, one_line, validate_bars
from engine.errors import UserError
from engine.kernel.bars import FIELDS, Bars
from engine.stores.files import atomic_write

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
    damage: str | None = None  # why the file cannot be read (rows, first and last are then unknown)

    def kind_and_detail(self) -> tuple[str, str]:
        """ "real: S&P 500 index …" → ("real", "S&P 500 index …"); the kind says when volume is missing.
        A damaged file: ("damaged", its path and what is wrong)."""
        if self.damage is not None:
            return "damaged", f"{self.path}: {self.damage}"
        kind, _, detail = self.origin.partition(": ")
        return kind + ("" if self.has_volume else ", no volume"), detail or self.origin


class DamagedSeriesError(DataStoreError):
    """A stored file cannot be read as a bar series."""

    def __init__(self, series: StoredSeries) -> None:
        super().__init__(
            f"{series.path}: damaged, {series.damage} (`engine data rm {series.symbol} --timeframe {series.timeframe}` "
            "removes it; then import it again)"
        )


def _damaged(path: Path, timeframe: str, problem: str) -> StoredSeries:
    return StoredSeries(path.stem, timeframe, 0, pd.NaT, pd.NaT, "damaged", path, damage=one_line(problem))


def normalize_symbol(symbol: str) -> str:
    normalized = symbol.strip().upper()
    if not SYMBOL_PATTERN.match(normalized):
        raise DataStoreError(f"invalid symbol {symbol!r}: use letters, digits, '.', '_' or '-'")
    return normalized


def check_timeframe(timeframe: str) -> str:
    if not TIMEFRAME_PATTERN.match(timeframe):
        raise DataStoreError(f"invalid timeframe {timeframe!r}: use a count and a unit, like 1d, 1h or 15m")
    return timeframe


def bar_length(timeframe: str) -> pd.Timedelta:
    """How long one bar of `timeframe` lasts (`1h` → one hour, `1w` → seven days)."""
    count, unit = int(check_timeframe(timeframe)[:-1]), timeframe[-1]
    return (
        count
        * {"m": pd.Timedelta(minutes=1), "h": pd.Timedelta(hours=1), "d": pd.Timedelta(days=1), "w": pd.Timedelta(weeks=1)}[unit]
    )


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
        """A stored series, from its file's footer; a damaged file is an error naming it."""
        series = self._entry(self._existing_path(symbol, timeframe), timeframe)
        if series.damage is not None:
            raise DamagedSeriesError(series)
        return series

    def _existing_path(self, symbol: str, timeframe: str) -> Path:
        path = self.bars_path(symbol, timeframe)
        if not path.exists():
            stored = self.timeframes_of(symbol)
            elsewhere = f" (stored: {', '.join(stored)})" if stored else ""
            raise DataStoreError(f"no {timeframe} bars for {normalize_symbol(symbol)} in {self.root}{elsewhere}")
        return path

    def _entry(self, path: Path, timeframe: str) -> StoredSeries:
        """What the file's footer says, or why it cannot be read (its `damage`)."""
        try:
            metadata = pq.read_metadata(path)
            schema = metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowException) as error:
            return _damaged(path, timeframe, f"not a readable Parquet file: {error}")
        columns = [(field.name, field.type) for field in schema]
        if columns != [(field.name, field.type) for field in _SCHEMA]:
            held = ", ".join(f"{name} {kind}" for name, kind in columns)
            return _damaged(path, timeframe, f"not a bar series: its columns are {held}")
        meta = metadata.metadata or {}
        try:
            first, last = (pd.Timestamp(meta.get(key, b"").decode() or "NaT") for key in (_META_FIRST, _META_LAST))
        except (UnicodeDecodeError, ValueError) as error:
            return _damaged(path, timeframe, f"unreadable first or last time in its metadata: {error}")
        return StoredSeries(
            symbol=path.stem,
            timeframe=timeframe,
            rows=metadata.num_rows,
            first=first,
            last=last,
            origin=meta.get(_META_ORIGIN, b"unknown").decode(errors="replace"),
            path=path,
            has_volume=meta.get(_META_VOLUME) != _VOLUME_MISSING,
        )

    def remove(self, symbol: str, timeframe: str) -> StoredSeries:
        """Delete a stored series (a damaged one too) and its cache; returns what was removed."""
        removed = self._entry(self._existing_path(symbol, timeframe), timeframe)
        removed.path.unlink()
        self._cache_path(symbol, timeframe).unlink(missing_ok=True)
        return removed

    def list(self) -> list[StoredSeries]:
        """Every stored series; a damaged file is listed with its `damage`, never hiding the rest."""
        bars_root = self.root / "bars"
        if not bars_root.exists():
            return []
        return [self._entry(path, path.parent.name) for path in sorted(bars_root.glob("*/*.parquet"))]

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
        cached = _read_cache(cache)
        if cached is not None and (cached.schema.metadata or {}).get(_META_SOURCE_STAT) == key:
            return cached
        self.describe(symbol, timeframe)  # a file with other columns would be read as null bars
        try:
            table = pq.read_table(path, schema=_SCHEMA)
        except (OSError, pa.ArrowException) as error:
            raise DamagedSeriesError(_damaged(path, timeframe, f"not a readable bar series: {error}")) from None
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
        # Two passes, one series at a time, so that the panel is the only thing that grows with the
        # universe (a mapped cache file counts in the process's memory while its table is held).
        common = None
        for symbol in symbols:
            stamps = _timestamps(self.read_table(symbol, timeframe))
            if common is None:
                common = stamps.copy()
            elif not np.array_equal(common, stamps):
                common = np.intersect1d(common, stamps, assume_unique=True)
        if start is not None:
            common = common[common >= in_store_span(_utc(start))]
        if end is not None:
            end_ts = _utc(end)
            if end_ts == end_ts.normalize() and not (isinstance(end, str) and ":" in end):
                common = common[common < in_store_span(end_ts + pd.Timedelta(days=1))]  # a date means the whole day
            else:
                common = common[common <= in_store_span(end_ts)]
        if len(common) == 0:
            raise DataStoreError(
                f"no {timeframe} bars shared by {', '.join(symbols)} between {start or 'the start'} and {end or 'the end'}"
            )
        columns = {field: np.empty((len(common), len(symbols))) for field in FIELDS}
        for j, symbol in enumerate(symbols):
            table = self.read_table(symbol, timeframe)
            rows = np.searchsorted(_timestamps(table), common)
            for field in FIELDS:
                columns[field][:, j] = table.column(field).to_numpy()[rows]
        return Bars(common, tuple(normalize_symbol(s) for s in symbols), **columns)


def _timestamps(table: pa.Table) -> np.ndarray:
    return table.column("timestamp").to_numpy().astype("datetime64[ns]", copy=False)


def _read_cache(cache: Path) -> pa.Table | None:
    """The cached table, or None when there is none or it cannot be read (it is rebuilt from the Parquet file)."""
    try:
        return ipc.open_file(pa.memory_map(str(cache))).read_all()
    except (OSError, pa.ArrowException):
        return None


def in_store_span(stamp: pd.Timestamp) -> np.datetime64:
    """A time as the store's nanoseconds, clamped to the span they can hold (no bar lies beyond it):
    numpy would wrap a year like 1600 or 2300 around silently."""
    return min(max(stamp, EARLIEST), LATEST).as_unit("ns").to_datetime64()


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


__all__ = ["BarValidationError", "DamagedSeriesError", "DataStore", "DataStoreError", "StoredSeries"]
