"""What a user sees of the CLI at 80 columns and in a pipe: tables that fit, ids whole, progress on stderr."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from engine.analytics.formatting import counted
from engine.cli.output import ALWAYS, Column, print_table
from engine.cli.progress_display import StageDisplay

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BOX = set("─━│┃┏┓┗┛┡┩└┘")
TINY_GRU = """
name = "tiny_gru"
[data]
symbols = ["SP500"]
timeframe = "1d"
end = "2004-12-31"
[signal]
kind = "model"
plugin = "gru"
lookback = 8
seed = 1
[signal.hyperparameters]
hidden = 8
epochs = 2
[signal.walk_forward]
train_bars = 500
predict_bars = 400
[[overlays]]
kind = "threshold"
entry = 0.5
exit = 0.5
"""


def run(home: Path, *args: str, terminal: bool) -> subprocess.CompletedProcess:
    """`engine ARGS` with stdout and stderr piped; `terminal`: as rich sees an 80-column terminal."""
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")}
    env |= {"ENGINE_HOME": str(home)} | ({"TTY_COMPATIBLE": "1", "COLUMNS": "80"} if terminal else {})
    result = subprocess.run([sys.executable, "-m", "engine", *args], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"engine {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def screen(text: str) -> list[str]:
    return ANSI.sub("", text).splitlines()


@pytest.fixture(scope="module")
def home(sample_home) -> Path:
    """Two runs and a small study in the sample workspace."""
    for strategy in ("sma_cross", "buy_and_hold"):
        run(sample_home, "backtest", "--strategy", strategy, "--json", terminal=False)
    run(sample_home, "optimize", "-s", "sma_cross", "--study", "a-study-with-a-rather-long-name", "--trials", "3", terminal=False)
    return sample_home


def run_ids(home: Path) -> list[str]:
    return [entry["id"] for entry in json.loads(run(home, "runs", "list", "--json", terminal=False).stdout)]


@pytest.mark.parametrize(
    "command",
    [("runs", "list"), ("data", "list"), ("plugins", "list"), ("optimize", "show", "a-study-with-a-rather-long-name")],
)
def test_tables_fit_80_columns_with_every_id_whole(home, command):
    lines = screen(run(home, *command, terminal=True).stdout)
    # A line holding a path is the terminal's to wrap (it copies whole); everything else fits.
    assert max(len(line) for line in lines if str(home) not in line) <= 80, "\n".join(lines)
    text = "\n".join(lines)
    wanted = {
        "runs": run_ids(home),
        "data": ["SP500", "NASDAQ", *(f"SYN{i:02}" for i in range(24))],
        "plugins": ["volatility_regime", "volatility_target", "drawdown_breaker"],
        "optimize": ["a-study-with-a-rather-long-name"],
    }[command[0]]
    for identifier in wanted:
        assert re.search(rf"(?<![\w-]){re.escape(identifier)}(?![\w-])", text), identifier  # whole, on one line


def test_a_narrow_terminal_says_what_it_left_out_and_where_to_see_it(home):
    lines = screen(run(home, "data", "list", terminal=True).stdout)
    assert "seeded GARCH" not in "\n".join(lines)  # the origin is long text: the detail view has it
    assert lines[-1] == "origin left out to fit 80 columns; see `engine data show SYMBOL`"
    shown = run(home, "data", "show", "syn07", terminal=True).stdout
    assert "origin seeded GARCH(1,1) universe" in " ".join(screen(shown))


@pytest.mark.parametrize("command", [("runs", "list"), ("data", "list"), ("plugins", "list")])
def test_piped_tables_are_tab_separated_at_full_width(home, command):
    lines = run(home, *command, terminal=False).stdout.splitlines()
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    assert rows and all(len(row) == len(header) for row in rows)
    assert not BOX & set("".join(lines)) and "\x1b" not in "".join(lines)
    if command[0] == "runs":
        assert [row[0] for row in rows] == run_ids(home) and header[-1] == "max drawdown"
    if command[0] == "data":
        sp500 = next(row for row in rows if row[0] == "SP500")
        assert sp500[-1] == "S&P 500 index daily OHLCV 1999-2018, shipped by the arch package"


def test_piped_study_keeps_each_trials_parameters_on_its_row(home):
    lines = run(home, "optimize", "show", "a-study-with-a-rather-long-name", terminal=False).stdout.splitlines()
    header_at = lines.index("# Pareto front (validation; holdout once each)") + 1
    header = lines[header_at].split("\t")
    first = lines[header_at + 1].split("\t")
    assert header[-1] == "parameters" and len(first) == len(header) and " = " in first[-1]
    assert lines[-1].startswith("report: ")


def test_progress_is_one_line_per_stage_on_stderr_when_not_a_terminal(home):
    result = run(home, "backtest", "--strategy", "sma_cross", "--json", terminal=False)
    assert result.stderr.splitlines() == [
        "loading the backtesting libraries",
        "loading 1d bars of SP500, NASDAQ",
        "backtesting the baselines: buy & hold",
        "backtesting sma_cross (vectorized), 5031 bars",
        "storing the run",
        "writing the report",
    ]
    assert "run_id" in json.loads(result.stdout.splitlines()[-1])  # --json is still the last stdout line


def test_training_reports_each_fold_and_its_epochs(tmp_path, sample_home):
    home = tmp_path / "home"
    (home / "strategies").mkdir(parents=True)
    (home / "data").symlink_to(sample_home / "data")
    (home / "strategies" / "tiny_gru.toml").write_text(TINY_GRU)
    first = subprocess.run(
        [sys.executable, "-m", "engine", "train", "--strategy", "tiny_gru"],
        env={**os.environ, "ENGINE_HOME": str(home)},
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr
    stages = [line for line in first.stderr.splitlines() if line.startswith("fold 0")]
    assert stages == ["fold 0: training (1 of 3), 2 epochs", "fold 0: trained, out-of-sample ROC-AUC " + stages[1][-5:]]
    table = first.stdout.splitlines()
    assert table[0] == "# tiny_gru: walk-forward, out of sample"
    header = table[1].split("\t")
    assert header[:3] == ["fold", "trained on", "predicts"] and {"IC", "ICIR", "RankIC", "RankICIR"} <= set(header)
    # 3 folds and all; then how the IC was measured (one symbol: over time), and per symbol.
    assert table[6].startswith("IC, RankIC: fewer than 3 symbols to rank across, so per symbol over each 63-bar window")
    assert table[7:9] == ["# tiny_gru: signal quality per symbol, out of sample", "symbol\tIC\tICIR\tRankIC\tRankICIR"]
    assert len(table) == 10 and table[9].startswith("SP500\t")


def test_the_table_helper_abbreviates_then_leaves_out_low_priority_columns_and_never_cuts_an_id():
    console = Console(width=72, force_terminal=True, color_system=None, record=True)
    long_id = "20261123-195944-a_strategy_with_a_long_name-f04075"
    columns = [
        Column("id", identifier=True),
        Column("note", keep=0),
        Column("sharpe", "right", keep=5),
        Column("total return", "right", keep=4, short="return"),
    ]
    print_table(columns, [[long_id, "a long note " * 5, "0.589", "284.69%"]], title="runs", console=console)
    title, header, _rule, row, *after = console.export_text().splitlines()
    assert title == "runs" and header.split() == ["id", "sharpe", "return"]  # abbreviated, and only `note` left out
    assert row.split() == [long_id, "0.589", "284.69%"]
    assert after == ["note left out to fit 72 columns; a wider terminal or a pipe shows them"]
    assert max(len(line) for line in (title, header, row)) <= 72


def test_every_column_kept_always_stays_even_when_it_does_not_fit():
    console = Console(width=30, force_terminal=True, color_system=None, record=True)
    columns = [Column("metric", keep=ALWAYS), Column("a rather wide run name", "right", keep=ALWAYS)]
    print_table(columns, [["sharpe", "0.589"]], console=console)
    text = console.export_text()
    assert "sharpe" in text and "0.589" in text and "left out" not in text


def test_counts_are_written_in_the_singular_for_one():
    assert [counted(number, "article") for number in (0, 1, 2, 0.5)] == ["0 articles", "1 article", "2 articles", "0.5 articles"]
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    display = StageDisplay(console)
    with display:
        display.stage("fetching 1h bars of SYN00", 1, "symbol span")
        display.stage("backtesting", 3, "bar")
    assert console.file.getvalue().splitlines() == ["fetching 1h bars of SYN00, 1 symbol span", "backtesting, 3 bars"]
