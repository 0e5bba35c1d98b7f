"""The bar store: import, validation on write and read, atomic writes, the Arrow cache, the sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.importer import import_bars
from engine.data.sample import SYNTHETIC_SYMBOLS, synthetic_frames
from engine.data.store import DataStore, DataStoreError
from engine.data.validation import BarValidationError

GOOD_CSV = """Date,Open,High,Low,Close,Volume
2024-01-02,100,105,99,104,1000
2024-01-03,104,106,103,105,1200
2024-01-04,105,107,101,102,900
2024-01-05,102,103,98,99,1500
"""


def write(tmp_path, text: str, name: str = "bars.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def replace_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def test_import_csv_with_any_column_case_and_read_back(tmp_path):
    store = DataStore(tmp_path / "data")
    (series,) = import_bars(store, write(tmp_path, GOOD_CSV), "abc", "1d").series
    assert (series.symbol, series.rows) == ("ABC", 4)
    assert series.origin.startswith("imported: ")
    bars = store.load(["ABC"], "1d")
    assert bars.close[:, 0].tolist() == [104, 105, 102, 99]
    assert str(bars.index()[0]) == "2024-01-02 00:00:00+00:00"


def test_import_parquet_with_timestamp_column_converts_to_utc(tmp_path):
    frame = pd.DataFrame(
        {
            "TIMESTAMP": pd.date_range("2024-03-01 09:30", periods=3, freq="h", tz="America/New_York"),
            "open": [10.0, 11, 12],
            "high": [11.0, 12, 13],
            "low": [9.0, 10, 11],
            "close": [11.0, 12, 12.5],
            "volume": [1.0, 2, 3],
        }
    )
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    store = DataStore(tmp_path / "data")
    import_bars(store, path, "XYZ", "1h")
    assert str(store.load(["XYZ"], "1h").index()[0]) == "2024-03-01 14:30:00+00:00"


@pytest.mark.parametrize(
    ("line", "content", "field", "problem"),
    [
        (3, "2024-01-02,104,106,103,105,1200", "timestamp", "duplicate timestamp"),
        (3, "2024-01-01,104,106,103,105,1200", "timestamp", "earlier than the row before"),
        (4, "2024-01-04,-105,107,101,102,900", "open", "positive"),
        (4, "2024-01-04,105,107,101,0,900", "close", "positive"),
        (4, "2024-01-04,100.5,107,101,102,900", "open", "below low"),
        (4, "2024-01-04,105,107,101,108,900", "close", "above high"),
        (4, "2024-01-04,105,107,101,,900", "close", "missing price"),
        (4, "2024-01-04,105,107,abc,102,900", "low", "not a number"),
        (5, "2024-01-05,102,103,98,99,-1", "volume", ">= 0"),
        (5, "not-a-date,102,103,98,99,10", "date", "cannot read timestamp"),
    ],
)
def test_bad_rows_are_named_by_file_row_and_field(tmp_path, line, content, field, problem):
    path = write(tmp_path, replace_line(GOOD_CSV, line, content))
    with pytest.raises(BarValidationError) as caught:
        import_bars(DataStore(tmp_path / "data"), path, "ABC", "1d")
    message = str(caught.value)
    assert str(path) in message
    assert f"row {line}" in message
    assert f"field '{field}'" in message
    assert problem in message


def test_missing_columns_are_named(tmp_path):
    path = write(tmp_path, "date,open,high,close\n2024-01-02,1,2,1.5\n")
    with pytest.raises(BarValidationError, match=r"missing column\(s\) low$"):  # volume may be missing (see test_data_import)
        import_bars(DataStore(tmp_path / "data"), path, "ABC", "1d")
    path = write(tmp_path, "day,open,high,low,close,volume\n2024-01-02,1,2,1,1.5,3\n")
    with pytest.raises(BarValidationError, match="no timestamp column"):
        import_bars(DataStore(tmp_path / "data"), path, "ABC", "1d")


def test_failed_import_leaves_the_store_exactly_as_it_was(tmp_path):
    store = DataStore(tmp_path / "data")
    import_bars(store, write(tmp_path, GOOD_CSV), "ABC", "1d")
    store.load(["ABC"], "1d")  # builds the cache
    before = {path: path.read_bytes() for path in (tmp_path / "data").rglob("*") if path.is_file()}
    bad = write(tmp_path, replace_line(GOOD_CSV, 4, "2024-01-04,105,107,101,108,900"), "bad.csv")
    with pytest.raises(BarValidationError):
        import_bars(store, bad, "ABC", "1d")
    after = {path: path.read_bytes() for path in (tmp_path / "data").rglob("*") if path.is_file()}
    assert after == before


def test_a_corrupted_stored_file_is_rejected_on_read(tmp_path):
    store = DataStore(tmp_path / "data")
    import_bars(store, write(tmp_path, GOOD_CSV), "ABC", "1d")
    path = store.bars_path("ABC", "1d")
    frame = pd.read_parquet(path)
    frame.loc[2, "high"] = 50.0  # below open and close: written behind the store's back
    frame.to_parquet(path)
    with pytest.raises(BarValidationError, match=r"ABC.parquet, row 3, field 'open'"):
        store.load(["ABC"], "1d")


def test_arrow_cache_is_memory_mapped_and_follows_the_parquet_file(tmp_path):
    store = DataStore(tmp_path / "data")
    import_bars(store, write(tmp_path, GOOD_CSV), "ABC", "1d")
    first = store.load(["ABC"], "1d")
    cache = tmp_path / "data" / "cache" / "1d" / "ABC.arrow"
    assert cache.exists()
    assert store.load(["ABC"], "1d").close.tolist() == first.close.tolist()
    changed = GOOD_CSV.replace("2024-01-05,102,103,98,99,1500", "2024-01-05,102,103,98,101,1500")
    import_bars(store, write(tmp_path, changed, "changed.csv"), "ABC", "1d")
    assert store.load(["ABC"], "1d").close[-1, 0] == 101


def test_unknown_series_and_bad_names_are_clear(tmp_path):
    store = DataStore(tmp_path / "data")
    with pytest.raises(DataStoreError, match="no 1d bars for NOPE"):
        store.load(["NOPE"], "1d")
    with pytest.raises(DataStoreError, match="invalid symbol"):
        store.bars_path("../etc", "1d")
    with pytest.raises(DataStoreError, match="invalid timeframe"):
        store.bars_path("ABC", "daily")


def test_sample_has_real_and_synthetic_series_labelled(store):
    listing = {series.symbol: series for series in store.list()}
    assert listing["SP500"].origin.startswith("real: ") and listing["NASDAQ"].origin.startswith("real: ")
    assert listing["SP500"].rows == 5031 and str(listing["SP500"].first.date()) == "1999-01-04"
    synthetic = [listing[symbol] for symbol in SYNTHETIC_SYMBOLS]
    assert len(synthetic) >= 20
    assert all(series.origin.startswith("synthetic: ") and series.timeframe == "1h" for series in synthetic)
    span = synthetic[0].last - synthetic[0].first
    assert span >= pd.Timedelta(days=2 * 365 - 7)


def test_synthetic_universe_is_seeded_and_has_clustered_volatility():
    first, second = synthetic_frames(), synthetic_frames()
    assert all(first[symbol].equals(second[symbol]) for symbol in first)
    returns = np.diff(np.log(first["SYN00"]["close"].to_numpy()))
    squared = returns**2 - (returns**2).mean()
    autocorrelation = (squared[1:] * squared[:-1]).mean() / (squared**2).mean()
    assert autocorrelation > 0.05  # volatility clusters: big moves follow big moves


def test_load_aligns_symbols_and_slices_dates(store):
    bars = store.load(["SP500", "NASDAQ"], "1d", "2010-01-01", "2010-12-31")
    assert bars.shape == (252, 2)
    assert str(bars.index()[-1].date()) == "2010-12-31"
