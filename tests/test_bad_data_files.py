"""Bad data files and faults (issue 12, D1-D4, D24, D25): a bad import is one line naming the file,
the row and the field, exit 2, and the store is left exactly as it was; a damaged stored file is
listed as damaged and hides nothing else; what a killed writer left is cleared by the next write."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.data.importer import import_bars
from engine.data.store import DamagedSeriesError, DataStore
from engine.models.store import ModelStore
from engine.report.render import write_report_folder
from engine.stores.files import atomic_write
from tests.test_data_import import stored_files
from tests.test_user_errors import assert_one_line_error

HEADER = "date,open,high,low,close,volume\n"
GOOD = HEADER + "2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,12,10,11,120\n"
DAYS = ["2024-01-02", "2024-01-03"]


def write_csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def home(cli, tmp_path, monkeypatch) -> Path:
    """A workspace holding one small series, GOOD (1d), on which the `cli` fixture's commands run."""
    home = tmp_path / "home"
    import_bars(DataStore(home / "data"), write_csv(tmp_path, "good.csv", GOOD), "GOOD")
    monkeypatch.setenv("ENGINE_HOME", str(home))
    return home


def assert_import_refused(cli, home: Path, path: Path, pattern: str, *options: str) -> None:
    store = DataStore(home / "data")
    before = stored_files(store)
    assert_one_line_error(cli("data", "import", str(path), "--symbol", "NEW", *options), pattern)
    assert stored_files(store) == before


# --- D1: times the store cannot hold --------------------------------------------------------------


@pytest.mark.parametrize("day", ["1600-01-03", "2300-01-03", "0001-01-03"])
def test_a_date_outside_the_stores_span_is_named_by_row_and_field(cli, home, tmp_path, day):
    path = write_csv(tmp_path, "bars.csv", HEADER + f"2024-01-02,10,11,9,10.5,100\n{day},10,11,9,10.5,100\n")
    assert_import_refused(cli, home, path, r"bars\.csv, row 3, field 'date': timestamp .* outside what the store can hold")


def test_a_parquet_datetime_outside_the_stores_span_is_named_by_row_and_field(cli, home, tmp_path):
    stamps = pd.DatetimeIndex(["1600-01-02", "1600-01-03"]).as_unit("s")
    path = tmp_path / "bars.parquet"
    pd.DataFrame({"timestamp": stamps, "open": 1.0, "high": 2.0, "low": 1.0, "close": 1.5}).to_parquet(path)
    assert_import_refused(cli, home, path, r"bars\.parquet, row 1, field 'timestamp': timestamp 1600-01-02")


@pytest.mark.parametrize("bounds", [{"start": "1600-01-01"}, {"end": "2300-01-01"}, {"start": "0001-01-01", "end": "9999-12-31"}])
def test_loading_between_dates_beyond_the_stores_span_keeps_every_bar(home, bounds):
    bars = DataStore(home / "data").load(["GOOD"], "1d", **bounds)
    assert [str(day.date()) for day in bars.index()] == DAYS


# --- D2: epoch units ------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "suffix"), [("us", "parquet"), ("ns", "parquet"), ("us", "csv"), ("ns", "csv")])
def test_epoch_micro_and_nanoseconds_are_read_in_their_unit(home, tmp_path, unit, suffix):
    epochs = pd.DatetimeIndex(DAYS).as_unit(unit).asi8
    frame = pd.DataFrame({"timestamp": epochs, "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 1.0})
    path = tmp_path / f"bars.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    store = DataStore(home / "data")
    import_bars(store, path, "EPOCH")
    assert [str(day.date()) for day in store.load(["EPOCH"], "1d").index()] == DAYS


# --- D3: prices whose products overflow -----------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "pattern"),
    [
        ("2024-01-03,10.5,1e308,10,11,120", r"row 3, field 'high': price 1e\+308 is out of range"),
        ("2024-01-03,1e-300,12,1e-300,11,120", r"row 3, field 'open': price 1e-300 is out of range"),
        ("2024-01-03,10.5,12,10,11,1e308", r"row 3, field 'volume': volume must be a number >= 0 and <= 1e\+20"),
    ],
)
def test_prices_and_volumes_whose_products_overflow_are_refused(cli, home, tmp_path, row, pattern):
    path = write_csv(tmp_path, "bars.csv", HEADER + "2024-01-02,10,11,9,10.5,100\n" + row + "\n")
    assert_import_refused(cli, home, path, rf"bars\.csv, {pattern}")


def test_prices_scaled_out_of_range_by_adjust_are_refused_with_the_files_row(cli, home, tmp_path):
    text = "date,open,high,low,close,adj close\n2024-01-02,10,11,9,10.5,10.5\n2024-01-03,10,11,9,10.5,1e300\n"
    path = write_csv(tmp_path, "bars.csv", text)
    assert_import_refused(cli, home, path, r"bars\.csv, row 3, field 'open': price .* is out of range", "--adjust")


# --- D25: rows with more fields than the header ---------------------------------------------------


@pytest.mark.parametrize("line", [2, 3])
def test_a_row_with_more_fields_than_the_header_is_named(cli, home, tmp_path, line):
    rows = ["2024-01-02,10,11,9,10.5,100", "2024-01-03,10.5,12,10,11,120"]
    rows[line - 2] += ",7"
    path = write_csv(tmp_path, "bars.csv", HEADER + "\n".join(rows) + "\n")
    assert_import_refused(cli, home, path, rf"bars\.csv, row {line}: the row has 7 fields, more than the header's 6")


def test_columns_that_differ_only_in_case_are_refused(cli, home, tmp_path):
    path = tmp_path / "bars.parquet"
    frame = pd.DataFrame({"date": DAYS, "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "Close": 10.4})
    frame.to_parquet(path)
    assert_import_refused(cli, home, path, r"bars\.parquet, field 'close': more than one column has this name")


# --- D24: a damaged file in the store -------------------------------------------------------------


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def overwritten(path: Path) -> None:
    path.write_text("not parquet\n")


def other_columns(path: Path) -> None:
    pd.DataFrame({"when": DAYS, "price": [1.0, 2.0]}).to_parquet(path)


@pytest.mark.parametrize("damage", [truncated, overwritten, other_columns])
def test_a_damaged_stored_file_is_listed_as_damaged_and_hides_nothing_else(cli, home, tmp_path, damage):
    store = DataStore(home / "data")
    import_bars(store, write_csv(tmp_path, "bad.csv", GOOD), "BAD")
    bad = store.bars_path("BAD", "1d")
    damage(bad)

    listed = cli("data", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    (bad_line,) = [line for line in listed.stdout.splitlines() if line.startswith("BAD")]
    assert "damaged" in bad_line and str(bad) in bad_line
    assert any(line.startswith("GOOD\t1d\t2\t") for line in listed.stdout.splitlines())

    assert_one_line_error(cli("data", "show", "bad"), rf"{bad}: damaged, .*engine data rm BAD --timeframe 1d")
    assert_one_line_error(cli("backtest", "--strategy", "sma_cross", "--symbols", "BAD"), rf"{bad}: damaged, ")
    assert store.load(["GOOD"], "1d").close[:, 0].tolist() == [10.5, 11.0]

    assert cli("data", "rm", "bad").returncode == 0
    assert not bad.exists() and [series.symbol for series in store.list()] == ["GOOD"]


def test_a_damaged_file_read_directly_is_a_user_error_naming_it(home, tmp_path):
    store = DataStore(home / "data")
    truncated(store.bars_path("GOOD", "1d"))
    with pytest.raises(DamagedSeriesError, match=r"GOOD\.parquet: damaged, not a readable"):
        store.load(["GOOD"], "1d")


def test_a_damaged_cache_is_rebuilt_from_the_parquet_file(home):
    store = DataStore(home / "data")
    store.load(["GOOD"], "1d")
    cache = home / "data" / "cache" / "1d" / "GOOD.arrow"
    truncated(cache)
    assert store.load(["GOOD"], "1d").close[:, 0].tolist() == [10.5, 11.0]


# --- D4: what a killed writer leaves --------------------------------------------------------------

# Each starts a write of `target`, says so once its temporary exists, and hangs until killed. The
# report writer stages as write_report_folder does, without importing the report package (seconds).
WRITERS = {
    "file": "from engine.stores.files import atomic_write\natomic_write(target, lambda tmp: hang(Path(tmp)))",
    "model folder": "from engine.models.store import ModelStore\nModelStore(target.parent).save(target.name, hang_in)",
    "report folder": "from engine.stores.files import temporary_sibling\nstaging = temporary_sibling(target, '.partial')\n"
    "staging.mkdir(parents=True)\nhang_in(staging)",
}
HANG = """
import sys, time
from pathlib import Path
target = Path(sys.argv[1])
def hang(path):
    path.write_text("half")
    print("writing", flush=True)
    time.sleep(120)
def hang_in(folder):
    hang(folder / "part")
"""
FINISH = {
    "file": lambda target: atomic_write(target, lambda tmp: Path(tmp).write_text("whole")),
    "model folder": lambda target: ModelStore(target.parent).save(target.name, lambda folder: (folder / "meta.json").touch()),
    "report folder": lambda target: write_report_folder(target, lambda folder: None),
}


def start_writer(kind: str, target: Path) -> subprocess.Popen:
    writer = subprocess.Popen([sys.executable, "-c", HANG + WRITERS[kind], str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "writing\n"
    return writer


def hidden(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if path.name.startswith(".")}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_killed_writers_temporary_is_removed_by_the_next_write_and_a_live_ones_kept(tmp_path, kind):
    target = tmp_path / "place" / "target"
    killed = start_writer(kind, target)
    killed.kill()
    killed.wait()
    left = hidden(target.parent)
    assert left and all(f".{killed.pid}@" in name for name in left)  # what the issue saw, named by its writer
    live = start_writer(kind, target)
    try:
        writing = hidden(target.parent) - left
        FINISH[kind](target)
        assert hidden(target.parent) == writing and target.exists()
    finally:
        live.kill()
        live.wait()
        live.stdout.close()
    killed.stdout.close()


# --- Also noticed: bar files' mode ----------------------------------------------------------------


def test_stored_files_follow_the_users_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        store = DataStore(tmp_path / "data")
        import_bars(store, write_csv(tmp_path, "good.csv", GOOD), "GOOD")
        store.load(["GOOD"], "1d")  # writes the cache
    finally:
        os.umask(previous)
    for path in (store.bars_path("GOOD", "1d"), tmp_path / "data" / "cache" / "1d" / "GOOD.arrow"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
