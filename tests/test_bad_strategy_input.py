"""Bad strategy files and options (issue 12, D3 and D5 to D12): one line naming the file, field or
option, exit 2, and nothing written outside the workspace's runs."""

from __future__ import annotations

import json

import pytest

from engine.errors import UserError
from engine.strategies.files import load_strategy
from engine.usecases.backtest import simulate_strategy
from tests.helpers import make_bars
from tests.test_strategy_files import VALID as SMA
from tests.test_user_errors import assert_one_line_error

TINY_MODEL = """
name = "tiny"
[data]
symbols = ["SP500"]
[signal]
kind = "model"
plugin = "mlp"
lookback = 10
"""


def write(tmp_path, text: str | bytes, name: str = "mine.toml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def runs_in(home) -> set[str]:
    runs = home / "runs"
    return {path.name for path in runs.iterdir()} if runs.exists() else set()


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (
            lambda tmp: write(tmp, SMA.encode().replace(b"mine", b"m\xffne")),
            r"mine\.toml: not UTF-8 text \(byte 0xff at offset \d+\)",
        ),
        (lambda tmp: (tmp / "mine.toml").mkdir() or tmp / "mine.toml", r"mine\.toml: is a folder, not a TOML file"),
        (
            lambda tmp: write(tmp, SMA + "\n[execution]\ninitial_cash = inf\n"),
            r"execution\.initial_cash: Input should be a finite number",
        ),
        (
            lambda tmp: write(tmp, SMA + "\n[execution]\ninitial_cash = 1e300\n"),
            r"execution\.initial_cash: Input should be less than",
        ),
        (
            lambda tmp: write(tmp, SMA + "\n[execution]\nperiods_per_year = inf\n"),
            r"execution\.periods_per_year: Input should be a finite",
        ),
        (
            lambda tmp: write(tmp, SMA + "\n[costs]\nslippage_bps = nan\n"),
            r"costs\.slippage_bps: Input should be a finite number",
        ),
        (
            lambda tmp: write(tmp, SMA + '\n[[overlays]]\nkind = "threshold"\nentry = nan\n'),
            r"overlays\[0\]\.entry\.float: Input should be a finite number",
        ),
        (
            lambda tmp: write(tmp, SMA.replace('"mine"', '"../../../tmp/evil"')),
            r"name: .*'\.\./\.\./\.\./tmp/evil' is not a valid name",
        ),
        (lambda tmp: write(tmp, SMA.replace('"mine"', '"a b"')), r"name: .*'a b' is not a valid name"),
    ],
    ids=["not-utf8", "folder", "inf-cash", "huge-cash", "inf-periods", "nan-cost", "nan-overlay", "path-name", "space-name"],
)
def test_a_bad_strategy_file_is_one_line_and_runs_nothing(cli, sample_home, tmp_path, make, pattern):
    path = make(tmp_path)
    before = runs_in(sample_home)
    assert_one_line_error(cli("backtest", "--strategy", str(path)), pattern)
    assert runs_in(sample_home) == before
    assert not (tmp_path.parent / "tmp").exists()


def test_the_strategy_listing_names_unreadable_files_and_goes_on(cli, tmp_path, monkeypatch, sample_home):
    home = tmp_path / "home"
    (home / "strategies" / "folder.toml").mkdir(parents=True)
    (home / "data").symlink_to(sample_home / "data")
    write(home / "strategies", b'name = "x\xff"\n', "garbled.toml")
    monkeypatch.setenv("ENGINE_HOME", str(home))
    result = cli("strategies", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout.splitlines()[-1])}
    assert rows["sma_cross"]["signal"] == "sma_cross"
    assert "not UTF-8 text" in rows["garbled"]["error"]
    assert "is a folder" in rows["folder"]["error"]


@pytest.mark.parametrize("symbols", ["", " ", "SP500,,NASDAQ", "SP500,"])
def test_an_empty_symbol_list_or_item_is_refused(cli, symbols):
    result = cli("backtest", "--strategy", "sma_cross", "--symbols", symbols)
    assert_one_line_error(result, r"--symbols .*: give one or more symbols separated by commas")


def test_a_start_past_the_data_is_named(cli):
    assert_one_line_error(cli("backtest", "--strategy", "sma_cross", "--start", "2031-01-01"), r"data\.start 2031-01-01 is after")


def test_a_model_with_too_little_data_for_one_fold_is_named(cli, tmp_path):
    path = write(tmp_path, TINY_MODEL, "tiny.toml")
    result = cli("backtest", "--strategy", str(path), "--end", "1999-06-01")
    pattern = r"signal\.walk_forward\.train_bars: not enough data for one walk-forward fold: \d+ bars \(1999-"
    assert_one_line_error(result, pattern)


def test_a_hyperparameter_of_the_wrong_type_names_the_file(cli, tmp_path):
    path = write(tmp_path, TINY_MODEL + 'hyperparameters = { hidden = "big" }\n', "tiny.toml")
    result = cli("backtest", "--strategy", str(path))
    assert_one_line_error(result, r"tiny\.toml: signal\.hyperparameters: hidden must be an integer for model 'mlp'")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning")
def test_an_equity_that_overflows_is_never_reported(tmp_path):
    strategy = load_strategy(str(write(tmp_path, SMA.replace('symbols = ["SP500"]', 'symbols = ["S0"]'))))
    prices = [[1.0 + day / 100] for day in range(30)] + [[1e308]] * 10  # rising: the cross buys
    with pytest.raises(UserError, match=r"mine: the equity is not a finite number from 2024-01-31"):
        simulate_strategy(
            strategy.model_copy(update={"signal": strategy.signal.model_copy(update={"fast": 2, "slow": 3})}),
            make_bars(prices, prices),
        )


def test_a_start_before_the_stores_span_means_from_the_first_bar(cli):
    result = cli("backtest", "--strategy", "buy_and_hold", "--start", "1600-01-01", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["metrics"]["start"].startswith("1999-01-04")
