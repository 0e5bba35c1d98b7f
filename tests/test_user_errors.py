"""Every user error is one line on standard error and exit status 2, never a traceback.

The sweep runs the CLI's entry point in this process (the `cli` fixture: what `engine` runs, without
paying for a new interpreter per case); the two cases the issue found run as real commands.
"""

from __future__ import annotations

import re

import pytest

from engine.workspace import Workspace
from tests.test_cli import engine

BUILT_IN = ["sma_cross", "buy_and_hold", "gru93"]
OUT_OF_RANGE = {
    "start after the data": (["--start", "2030-01-01"], r"data\.start 2030-01-01 is after the last stored 1d bar"),
    "end before the data": (["--end", "1990-01-01"], r"no 1d bars shared by .* between the start and 1990-01-01"),
    "start after end": (["--start", "2010-01-01", "--end", "2009-01-01"], r"start 2010-01-01 is after end 2009-01-01"),
}


def assert_one_line_error(result, pattern: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and re.search(pattern, last), last


@pytest.mark.parametrize("strategy", BUILT_IN)
@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_out_of_range_periods_are_named_before_any_run_exists(cli, sample_home, strategy, case):
    options, pattern = OUT_OF_RANGE[case]
    runs = Workspace(sample_home).runs.root
    before = set(runs.iterdir()) if runs.exists() else set()
    assert_one_line_error(cli("backtest", "--strategy", strategy, *options), pattern)
    assert (set(runs.iterdir()) if runs.exists() else set()) == before  # refused, not a failed run


def test_the_two_cases_that_leaked_tracebacks(sample_home):
    result = engine(sample_home, "backtest", "--strategy", "sma_cross", "--start", "2030-01-01", check=False)
    assert_one_line_error(result, r"data\.start 2030-01-01 is after the last stored 1d bar of SP500, NASDAQ \(2018-12-31\)")
    result = engine(sample_home, "backtest", "--strategy", "gru93", "--start", "2018-06-01", check=False)
    pattern = r"overlays\[0\]\.calibrate\.validation_bars: 500 bars of validation leave nothing to trade"
    assert_one_line_error(result, pattern)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["backtest", "--strategy", "nope"], r"unknown strategy 'nope'"),
        (
            ["backtest", "--strategy", "sma_cross", "--execution", "teleport"],
            r"no broker plugin named 'teleport'; available: sim, vectorized",
        ),
        (["backtest", "--strategy", "sma_cross", "--symbols", "SP500,NOPE"], r"NOPE"),
        (["check", "--strategy", "sma_cross", "--start", "2030-01-01"], r"data\.start 2030-01-01 is after"),
        (["runs", "show", "no-such-run"], r"no run 'no-such-run'"),
        (["check", "--strategy", "sma_cross", "--chunks", "1,a"], r"--chunks 1,a: give positive whole numbers"),
        (["check", "--strategy", "sma_cross", "--chunks", "0"], r"--chunks 0: give positive whole numbers"),
    ],
)
def test_other_bad_input_is_one_line(cli, args, pattern):
    assert_one_line_error(cli(*args), pattern)


def test_the_sandbox_takes_a_speed_or_stepping_not_both(cli):
    assert_one_line_error(cli("sandbox", "--speed", "10", "--step"), r"give --speed or --step, not both")
