"""Importing the files a newcomer has: many symbols in one file, epoch times, a Parquet index, no
volume, an adjusted close, a timeframe that does not fit; and removing a stored series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.importer import import_bars
from engine.data.store import DataStore
from engine.data.validation import BarValidationError
from engine.features.dataset import MissingVolumeError
from engine.strategies.files import load_strategy
from engine.usecases.backtest import prepare, simulate_strategy
from engine.workspace import Workspace
from tests.model_helpers import model_strategy, planted_frames
from tests.test_cli import engine

# Tuesday to the next Tuesday: a weekend between, as daily bars have.
DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]
OPEN, HIGH, LOW, CLOSE = (
    [10.0, 11, 12, 13, 14, 15],
    [11.0, 12, 13, 14, 15, 16],
    [9.0, 10, 11, 12, 13, 14],
    [10.5, 11.5, 12.5, 13.5, 14.5, 15.5],
)


def daily_frame(**columns) -> pd.DataFrame:
    return pd.DataFrame({"date": DAYS, "open": OPEN, "high": HIGH, "low": LOW, "close": CLOSE, "volume": 100.0, **columns})


def csv(tmp_path, frame: pd.DataFrame, name: str = "bars.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def stored_files(store: DataStore) -> dict:
    return {path: path.read_bytes() for path in store.root.rglob("*") if path.is_file()}


def long_file(tmp_path, column: str = "symbol"):
    """Two symbols in one file, rows interleaved by date as exports have them."""
    first, second = daily_frame(), daily_frame(close=[c + 0.25 for c in CLOSE])
    frame = pd.concat([first.assign(**{column: "aaa"}), second.assign(**{column: "BBB"})]).sort_values(["date", column])
    return csv(tmp_path, frame, "long.csv")


# --- many symbols in one file ---------------------------------------------------------------------


def test_a_file_with_a_symbol_column_is_stored_as_one_series_per_symbol(tmp_path):
    path = long_file(tmp_path, "Ticker")
    result = engine(tmp_path, "data", "import", str(path))
    assert "stored 6 1d bars for AAA" in result.stdout and "stored 6 1d bars for BBB" in result.stdout
    store = DataStore(tmp_path / "data")
    bars = store.load(["AAA", "BBB"], "1d")
    assert bars.close[:, 0].tolist() == CLOSE
    assert bars.close[:, 1].tolist() == [c + 0.25 for c in CLOSE]
    assert [str(day.date()) for day in bars.index()] == DAYS


def test_symbol_with_a_symbol_column_imports_only_that_symbols_rows(tmp_path):
    store = DataStore(tmp_path / "data")
    imported = import_bars(store, long_file(tmp_path), "bbb")
    assert [series.symbol for series in imported.series] == ["BBB"] and [s.symbol for s in store.list()] == ["BBB"]
    with pytest.raises(BarValidationError, match=r"field 'symbol': no rows for symbol CCC \(the file holds AAA, BBB\)"):
        import_bars(store, long_file(tmp_path), "CCC")


def test_several_symbols_under_another_column_name_say_which_option_reads_them(tmp_path):
    path = long_file(tmp_path, "asset")
    store = DataStore(tmp_path / "data")
    with pytest.raises(BarValidationError) as caught:
        import_bars(store, path, "X")
    assert str(caught.value) == (
        f"{path}, row 3, field 'timestamp': duplicate timestamp 2024-01-02 00:00:00+00:00; "
        "if column 'asset' names each row's symbol, import with --symbol-column asset"
    )
    assert store.list() == []
    imported = import_bars(store, path, symbol_column="Asset")
    assert [series.symbol for series in imported.series] == ["AAA", "BBB"]


def test_a_bad_row_for_one_symbol_names_its_line_and_stores_no_symbol(tmp_path):
    frame = pd.concat([daily_frame().assign(symbol="AAA"), daily_frame().assign(symbol="BBB")], ignore_index=True)
    frame.loc[9, "high"] = 1.0  # BBB's fourth bar, line 11 of the file
    path = csv(tmp_path, frame)
    with pytest.raises(BarValidationError) as caught:
        import_bars(DataStore(tmp_path / "data"), path)
    assert str(caught.value) == f"{path} (symbol BBB), row 11, field 'open': open 13.0 is above high 1.0"
    assert not (tmp_path / "data").exists()


def test_a_file_without_symbol_column_needs_a_symbol(tmp_path):
    with pytest.raises(BarValidationError, match="no symbol: pass --symbol S, or --symbol-column NAME"):
        import_bars(DataStore(tmp_path / "data"), csv(tmp_path, daily_frame()))


# --- timestamps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "scale", "suffix"), [("seconds", 1, "csv"), ("milliseconds", 1000, "parquet")])
def test_epoch_seconds_and_milliseconds_are_read_by_magnitude(tmp_path, unit, scale, suffix):
    seconds = pd.DatetimeIndex(DAYS, tz="UTC").as_unit("s").asi8 + 14 * 3600 + 30 * 60
    frame = daily_frame(date=seconds * scale)
    path = tmp_path / f"bars.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    store = DataStore(tmp_path / "data")
    import_bars(store, path, "EPOCH")
    expected = [f"{day} 14:30:00+00:00" for day in DAYS]
    assert [str(stamp) for stamp in store.load(["EPOCH"], "1d").index()] == expected


@pytest.mark.parametrize(
    ("first", "second", "row", "problem"),
    [
        (1704205800, 20_000_000_000, 3, "'20000000000' is not an unambiguous epoch time: epoch seconds are 1e8 <= n < 1e10"),
        (1704205800, 1704292200000, 3, "'1704292200000' is epoch milliseconds, but the first row holds epoch seconds"),
        (50_000_000_000_000, 50_000_086_400_000, 2, "50000000000000' is not an unambiguous epoch time"),
    ],
)
def test_ambiguous_epoch_numbers_are_refused_with_their_row(tmp_path, first, second, row, problem):
    path = tmp_path / "bars.csv"
    path.write_text(f"time,open,high,low,close,volume\n{first},10,11,9,10.5,100\n{second},10,11,9,10.5,100\n")
    with pytest.raises(BarValidationError) as caught:
        import_bars(DataStore(tmp_path / "data"), path, "X")
    assert str(caught.value).startswith(f"{path}, row {row}, field 'time': ")
    assert problem in str(caught.value)


def test_numbers_below_epoch_range_are_dates_yyyymmdd(tmp_path):
    frame = daily_frame(date=[int(day.replace("-", "")) for day in DAYS])
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    store = DataStore(tmp_path / "data")
    import_bars(store, path, "YMD")
    assert [str(day.date()) for day in store.load(["YMD"], "1d").index()] == DAYS


@pytest.mark.parametrize("index_name", ["Date", None])
def test_a_parquet_datetime_index_is_the_timestamp(tmp_path, index_name):
    frame = daily_frame().drop(columns="date").set_index(pd.DatetimeIndex(DAYS, name=index_name))
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    store = DataStore(tmp_path / "data")
    import_bars(store, path, "IDX")
    bars = store.load(["IDX"], "1d")
    assert [str(day.date()) for day in bars.index()] == DAYS and bars.close[:, 0].tolist() == CLOSE


def test_a_timestamp_the_store_cannot_hold_is_named(tmp_path):
    frame = daily_frame(date=[*DAYS[:-1], "2300-01-01"])
    path = csv(tmp_path, frame)
    pattern = r"row 7, field 'date': timestamp 2300-01-01 .* outside what the store can hold \(1677-09-21"
    with pytest.raises(BarValidationError, match=pattern):
        import_bars(DataStore(tmp_path / "data"), path, "X")


# --- volume ---------------------------------------------------------------------------------------


def test_a_file_without_volume_is_stored_flagged_and_runs_rule_strategies_but_not_volume_features(tmp_path):
    frame = planted_frames(n_bars=300, symbols=("NOVOL",))["NOVOL"].drop(columns="volume")
    frame.to_csv(tmp_path / "novol.csv", index=False)
    result = engine(tmp_path, "data", "import", str(tmp_path / "novol.csv"), "--symbol", "novol")
    assert "stored 300 1d bars for NOVOL" in result.stdout and "no volume" in result.stdout
    assert "no volume for NOVOL: stored as NaN" in result.stderr
    assert "imported, no volume" in engine(tmp_path, "data", "list").stdout

    workspace = Workspace(tmp_path)
    assert not workspace.data.describe("NOVOL", "1d").has_volume
    bars = workspace.data.load(["NOVOL"], "1d")
    assert np.isnan(bars.volume).all() and bars.close[:, 0].tolist() == frame["close"].tolist()
    sma_cross = load_strategy("sma_cross").with_overrides(data={"symbols": ["NOVOL"]}, signal={"fast": 5, "slow": 20})
    assert len(simulate_strategy(sma_cross, bars).execution.fills) > 0
    with pytest.raises(MissingVolumeError, match="NOVOL stored without volume, and feature provider.s. technical read volume"):
        prepare(model_strategy("mlp", symbols=("NOVOL",)), workspace)


def test_volume_missing_in_some_rows_only_is_an_error(tmp_path):
    path = csv(tmp_path, daily_frame(volume=[100, 100, None, 100, 100, 100]))
    with pytest.raises(
        BarValidationError, match=r"row 4, field 'volume': missing volume \(a series has volume in every row or in none\)"
    ):
        import_bars(DataStore(tmp_path / "data"), path, "X")


# --- adjusted close -------------------------------------------------------------------------------


def test_adj_close_is_ignored_with_a_warning_unless_adjust(tmp_path):
    adj_close = [c / 2 for c in CLOSE]
    path = csv(tmp_path, daily_frame(**{"Adj Close": adj_close}))
    store = DataStore(tmp_path / "data")
    imported = import_bars(store, path, "RAW")
    assert imported.notes == [
        f"{path}: column 'adj close' ignored: open/high/low/close are stored as the file has them "
        "(--adjust scales them by adjusted close / close)"
    ]
    assert store.load(["RAW"], "1d").close[:, 0].tolist() == CLOSE

    adjusted = import_bars(store, path, "ADJ", adjust=True)
    assert adjusted.notes == [] and "scaled by 'adj close' / close" in adjusted.series[0].origin
    bars = store.load(["ADJ"], "1d")
    assert bars.close[:, 0].tolist() == adj_close
    assert bars.open[:, 0].tolist() == [o / 2 for o in OPEN] and bars.low[:, 0].tolist() == [low / 2 for low in LOW]
    assert bars.volume[:, 0].tolist() == [100.0] * 6


def test_adjust_needs_a_usable_adjusted_close(tmp_path):
    store = DataStore(tmp_path / "data")
    with pytest.raises(BarValidationError, match="--adjust needs an adjusted close column"):
        import_bars(store, csv(tmp_path, daily_frame()), "X", adjust=True)
    path = csv(tmp_path, daily_frame(adj_close=[1, 1, 1, 0, 1, 1]))
    with pytest.raises(BarValidationError, match=r"row 5, field 'adj_close': adjusted close must be positive, got 0.0"):
        import_bars(store, path, "X", adjust=True)
    assert store.list() == []


# --- timeframe against spacing --------------------------------------------------------------------


def hourly_frame() -> pd.DataFrame:
    """Seven bars a weekday, 14:30 to 20:30 UTC, over two weeks: nights and a weekend between sessions."""
    stamps = [day + pd.Timedelta(hours=14.5 + h) for day in pd.bdate_range("2024-01-01", periods=10) for h in range(7)]
    closes = np.linspace(100, 110, len(stamps))
    return pd.DataFrame(
        {"timestamp": stamps, "open": closes, "high": closes + 1, "low": closes - 1, "close": closes, "volume": 5.0}
    )


def test_hourly_bars_declared_daily_are_refused_and_nothing_is_stored(tmp_path):
    path = csv(tmp_path, hourly_frame())
    store = DataStore(tmp_path / "data")
    import_bars(store, csv(tmp_path, daily_frame(), "daily.csv"), "KEEP")
    before = stored_files(store)
    with pytest.raises(BarValidationError) as caught:
        import_bars(store, path, "KEEP", "1d")
    assert str(caught.value) == (
        f"{path}: the bars do not look like --timeframe 1d: several bars a day, typically 1 hour apart "
        "(the median gap within a day); import it with --timeframe 1h"
    )
    assert stored_files(store) == before
    assert import_bars(store, path, "HOURLY", "1h").series[0].rows == 70


@pytest.mark.parametrize(
    ("frame", "declared", "looks_like", "advice"),
    [
        (daily_frame(), "1h", "at most one bar a day, typically 1 weekday apart", "1d"),
        (daily_frame(date=pd.date_range("2024-01-05", periods=6, freq="W-FRI")), "1d", "typically 5 weekdays apart", "1w"),
        (hourly_frame(), "15m", "several bars a day, typically 1 hour apart", "1h"),
    ],
)
def test_a_timeframe_that_does_not_fit_the_spacing_is_refused(tmp_path, frame, declared, looks_like, advice):
    with pytest.raises(BarValidationError) as caught:
        import_bars(DataStore(tmp_path / "data"), csv(tmp_path, frame), "X", declared)
    message = str(caught.value)
    assert f"do not look like --timeframe {declared}: " in message and looks_like in message
    assert message.endswith(f"import it with --timeframe {advice}")


def test_daily_bars_over_weekends_and_holidays_and_weekly_bars_fit(tmp_path):
    store = DataStore(tmp_path / "data")
    with_holiday = daily_frame(date=["2024-12-20", "2024-12-23", "2024-12-24", "2024-12-26", "2024-12-27", "2024-12-30"])
    assert import_bars(store, csv(tmp_path, with_holiday), "HOL", "1d").series[0].rows == 6
    weekly = daily_frame(date=pd.date_range("2024-01-05", periods=6, freq="W-FRI"))
    assert import_bars(store, csv(tmp_path, weekly), "WK", "1w").series[0].rows == 6


# --- engine data rm -------------------------------------------------------------------------------


def test_rm_removes_a_stored_series_and_says_what(tmp_path):
    store = DataStore(tmp_path / "data")
    import_bars(store, csv(tmp_path, daily_frame()), "GONE")
    import_bars(store, csv(tmp_path, hourly_frame(), "hourly.csv"), "GONE", "1h")
    store.load(["GONE"], "1d")  # builds the cache
    result = engine(tmp_path, "data", "rm", "gone")
    assert result.stdout.startswith(
        "removed 6 1d bars for GONE (2024-01-02 00:00:00+00:00 to 2024-01-09 00:00:00+00:00; imported: "
    )
    assert store.timeframes_of("GONE") == ["1h"] and not (tmp_path / "data" / "cache" / "1d" / "GONE.arrow").exists()
    missing = engine(tmp_path, "data", "rm", "GONE", check=False)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip() == f"error: no 1d bars for GONE in {tmp_path / 'data'} (stored: 1h)"
