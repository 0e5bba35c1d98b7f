"""One case of each class of bad input (issue 12), through the CLI: a data file, a stored data file,
a strategy file, a strategy value, a command-line option, a plugin, a stored run and a search space.
Each is one `error:` line and exit 2, never a traceback, and leaves every stored file as it was.

The modules beside this one (test_bad_data_files, test_bad_strategy_input, test_bad_plugins,
test_bad_runs, test_bad_optimize) hold the other cases of each class.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import UserError
from tests.test_strategy_files import VALID as SMA
from tests.test_user_errors import assert_one_line_error

CSV = "timestamp,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,12,10,11,120\n"


def write(path: Path, text: str | bytes) -> str:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def data_file(home: Path, cli) -> list[str]:
    extra_field = CSV + "2024-01-04,11,12,10,11.5,130,7\n"
    return ["data", "import", write(home / "bars.csv", extra_field), "--symbol", "NEW"]


def stored_data_file(home: Path, cli) -> list[str]:
    assert cli("data", "import", write(home / "bars.csv", CSV), "--symbol", "BAD").returncode == 0
    stored = next((home / "data").rglob("BAD.parquet"))
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
    return ["backtest", "--strategy", "sma_cross", "--symbols", "BAD"]


def strategy_file(home: Path, cli) -> list[str]:
    return ["backtest", "--strategy", write(home / "mine.toml", SMA.encode().replace(b"mine", b"m\xffne"))]


def strategy_value(home: Path, cli) -> list[str]:
    return ["backtest", "--strategy", write(home / "mine.toml", SMA + "[execution]\ninitial_cash = inf\n")]


def option(home: Path, cli) -> list[str]:
    return ["backtest", "--strategy", "sma_cross", "--symbols", ""]


def plugin(home: Path, cli) -> list[str]:
    (home / "plugins").mkdir()
    write(home / "plugins" / "quits.py", "import sys\nsys.exit(3)\n")
    model = SMA.replace('kind = "sma_cross"\nfast = 5\nslow = 20', 'kind = "model"\nplugin = "quits"')
    return ["backtest", "--strategy", write(home / "mine.toml", model)]


def stored_run(home: Path, cli) -> list[str]:
    assert cli("backtest", "--strategy", "buy_and_hold").returncode == 0
    (run,) = (home / "runs").iterdir()
    (run / "metrics.json").write_text("{nope")
    return ["runs", "show", run.name]


def search_space(home: Path, cli) -> list[str]:
    space = '[space]\n"signal.fast" = { low = 10, high = 100, step = -5 }\n'
    return ["optimize", "--strategy", "sma_cross", "--trials", "2", "--space", write(home / "space.toml", space)]


CASES: dict[str, tuple[Callable[[Path, object], list[str]], str]] = {
    "data file": (data_file, r"bars\.csv, row 4: the row has 7 fields, more than the header's 6"),
    "stored data file": (stored_data_file, r"BAD\.parquet: damaged"),
    "strategy file": (strategy_file, r"mine\.toml: not UTF-8 text"),
    "strategy value": (strategy_value, r"mine\.toml: execution\.initial_cash: Input should be a finite number"),
    "option": (option, r"--symbols '': give one or more symbols"),
    "plugin": (plugin, r"quits.*failed to load: SystemExit: 3"),
    "stored run": (stored_run, r"run \S+: metrics\.json is not valid JSON"),
    "search space": (search_space, r"space\.toml: space\.signal\.fast: .*step must be positive"),
}


def stored(home: Path) -> dict[str, bytes]:
    """Every stored file's bytes (compiled plugin bytecode aside)."""
    files = (path for path in sorted(home.rglob("*")) if path.is_file() and "__pycache__" not in path.parts)
    return {str(path.relative_to(home)): path.read_bytes() for path in files}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing_stored(cli, sample_home, tmp_path, monkeypatch, case):
    shutil.copytree(sample_home / "data", tmp_path / "data")
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    make, pattern = CASES[case]
    args = make(tmp_path, cli)
    before = stored(tmp_path)
    result = cli(*args)
    assert_one_line_error(result, pattern)
    assert [line for line in result.stderr.splitlines() if line.startswith("error")] == [result.stderr.strip().splitlines()[-1]]
    assert stored(tmp_path) == before


def test_a_workspace_that_cannot_be_created_is_one_line_naming_it(cli, monkeypatch):
    monkeypatch.setenv("ENGINE_HOME", "/proc/no-such-engine-home")
    assert_one_line_error(cli("data", "sample"), r"/proc/no-such-engine-home\S*: No such file or directory")


@pytest.mark.parametrize(
    ("device", "pattern"),
    [("bogus", r"ENGINE_DEVICE=bogus: not a torch device"), ("mps", r"ENGINE_DEVICE=mps: torch finds no mps device")],
)
def test_an_engine_device_this_machine_lacks_is_named(monkeypatch, device, pattern):
    from engine.models.training import choose_device

    monkeypatch.setenv("ENGINE_DEVICE", device)
    with pytest.raises(UserError, match=pattern):
        choose_device()
