"""The `engine` command end to end, as a user runs it, against the sample data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import imported_modules

ENGINE = [sys.executable, "-m", "engine"]


def engine(
    home: Path, *args: str, check: bool = True, cwd: Path | None = None, python: tuple[str, ...] = (), timeout: float = 600
) -> subprocess.CompletedProcess:
    """`engine ARGS` in ENGINE_HOME=home; `python`: options for the interpreter, such as -X importtime; `timeout`:
    shorter for a command that should refuse at once (a TUI that starts instead would wait for a key)."""
    env = {**os.environ, "ENGINE_HOME": str(home), "COLUMNS": "200"}
    command = [sys.executable, *python, *ENGINE[1:], *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"engine {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def json_run(sample_home):
    result = engine(sample_home, "backtest", "--strategy", "sma_cross", "--json")
    return json.loads(result.stdout.strip().splitlines()[-1]), result


def test_backtest_json_is_the_last_stdout_line_and_the_run_is_stored(json_run):
    payload, result = json_run
    assert set(payload) >= {"run_id", "run_dir", "metrics"}
    run_dir = Path(payload["run_dir"])
    for name in ("config.json", "metrics.json", "equity.parquet", "trades.parquet", "orders.parquet", "manifest.json"):
        assert (run_dir / name).exists(), name
    stored = json.loads((run_dir / "metrics.json").read_text())
    assert stored["strategy"] == payload["metrics"]
    assert stored["baselines"]["buy & hold"]["trades"] == 2  # buy-and-hold: one position per symbol
    equity = pd.read_parquet(run_dir / "equity.parquet")
    assert list(equity.columns[:5]) == ["timestamp", "equity", "cash", "gross_equity", "net_equity"]
    assert equity.equity.iloc[-1] == pytest.approx(payload["metrics"]["final_equity"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert len(manifest["data"]["fingerprint"]) == 64
    assert manifest["data"]["series"]["SP500"].startswith("real: ")
    assert manifest["libraries"]["vectorbt"] != "not installed"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["strategy"]["costs"] == {"commission_bps": 10.0, "slippage_bps": 5.0, "min_commission": 0.0}


@pytest.mark.parametrize("command", [("backtest", "--strategy", "sma_cross"), ("plugins", "list")])
def test_rule_strategies_and_plugin_discovery_never_import_torch(sample_home, command):
    """Model code imports torch when it builds, trains or loads a network: a strategy without a model,
    and the discovery of the built-in model plugins, must not pay seconds for it."""
    result = engine(sample_home, *command, python=("-X", "importtime"))
    imported = imported_modules(result.stderr)
    assert "engine.cli" in imported and "torch" not in imported


@pytest.mark.parametrize(
    "command", [("paper", "status"), ("report", "latest"), ("optimize", "list")], ids=["paper status", "report", "optimize list"]
)
def test_commands_that_read_what_is_stored_never_import_the_backtesting_stack(sample_home, json_run, command):
    """vectorbt alone takes seconds to import: a look at a session from another terminal (polled by
    scripts, as docs/research.md's walk-through does), a report of a stored run and the list of
    studies need none of it."""
    result = engine(sample_home, *command, python=("-X", "importtime"), check=False)
    imported = imported_modules(result.stderr)
    assert "engine.cli" in imported and "vectorbt" not in imported and "torch" not in imported


def test_same_config_same_result_in_replay_with_chunks(sample_home, json_run):
    payload, _ = json_run
    result = engine(sample_home, "backtest", "--strategy", "sma_cross", "--execution", "replay", "--chunk", "7", "--json")
    replay = json.loads(result.stdout.strip().splitlines()[-1])
    assert replay["run_id"] != payload["run_id"]
    for key, value in payload["metrics"].items():
        if isinstance(value, float):
            assert replay["metrics"][key] == pytest.approx(value, rel=1e-8), key
        else:
            assert replay["metrics"][key] == value, key


def test_overrides_change_the_run(sample_home, json_run):
    payload, _ = json_run
    result = engine(
        sample_home,
        "backtest",
        "--strategy",
        "sma_cross",
        "--symbols",
        "SP500",
        "--start",
        "2005-01-01",
        "--end",
        "2015-12-31",
        "--commission-bps",
        "0",
        "--slippage-bps",
        "0",
        "--json",
    )
    metrics = json.loads(result.stdout.strip().splitlines()[-1])["metrics"]
    assert metrics["start"].startswith("2005-01-03") and metrics["end"].startswith("2015-12-31")
    assert metrics["costs_paid"] == 0.0
    assert metrics["gross_total_return"] == pytest.approx(metrics["net_total_return"])


def test_table_output_shows_strategy_beside_buy_and_hold(sample_home):
    result = engine(sample_home, "backtest", "--strategy", "buy_and_hold")
    assert "buy & hold" in result.stdout and "sharpe" in result.stdout and "max_drawdown" in result.stdout
    assert "stored in" in result.stdout


def test_runs_list_and_show(sample_home, json_run):
    payload, _ = json_run
    listing = engine(sample_home, "runs", "list").stdout
    assert payload["run_id"] in listing
    shown = engine(sample_home, "runs", "show", payload["run_id"]).stdout
    assert "sharpe" in shown and payload["run_id"] in shown
    missing = engine(sample_home, "runs", "show", "no-such-run", check=False)
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr


def test_data_list_labels_real_and_synthetic(sample_home):
    listing = engine(sample_home, "data", "list").stdout
    assert "SP500" in listing and "real" in listing and "SYN00" in listing and "synthetic" in listing


def test_data_import_errors_are_one_clear_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,12,100\n")
    result = engine(tmp_path, "data", "import", str(bad), "--symbol", "BAD", check=False)
    assert result.returncode == 2
    assert "row 3" in result.stderr and "field 'close'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "bars" / "1d" / "BAD.parquet").exists()
    good = tmp_path / "good.csv"
    good.write_text("date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n")
    assert "stored 1 1d bars for GOOD" in engine(tmp_path, "data", "import", str(good), "--symbol", "good").stdout


def test_bad_strategy_is_reported_not_raised(sample_home, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(
        'name = "broken"\n[data]\nsymbols = ["SP500"]\n[signal]\nkind = "sma_cross"\nfast = 5\nslow = 20\nspeed = 1\n'
    )
    result = engine(sample_home, "backtest", "--strategy", str(path), check=False)
    assert result.returncode == 2
    assert "broken.toml: signal.sma_cross.speed: Extra inputs are not permitted" in result.stderr


def test_check_command_passes_for_sma_cross(sample_home):
    result = engine(sample_home, "check", "--strategy", "sma_cross", "--start", "2012-01-01")
    assert "chunk-invariant" in result.stdout
