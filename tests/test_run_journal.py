"""A run is journaled as it goes: another process sees it running, and a run killed without a word
is recognisably failed, never mistaken for a finished one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.stores.runs import RunNotFound, RunRecords, RunStore
from tests.helpers import wait_for
from tests.test_cli import engine

ENGINE = [sys.executable, "-m", "engine"]


def runs_json(home: Path) -> list[dict]:
    return json.loads(engine(home, "runs", "list", "--json").stdout)


def status(path: Path) -> str | None:
    """A run's status from its status file; None while it is being written."""
    try:
        return json.loads(path.read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture
def home(tmp_path, sample_home):
    """A workspace sharing the sample data but with a run store of its own."""
    (tmp_path / "data").symlink_to(sample_home / "data")
    return tmp_path


def test_a_backtest_is_visible_while_it_runs_and_killed_it_is_failed(home):
    # Bar by bar through the sim broker over 20 years of daily bars, stopped (SIGSTOP) as soon as its
    # status says it runs: however fast the machine, `runs list` then sees it running.
    env = {**os.environ, "ENGINE_HOME": str(home)}
    command = [*ENGINE, "backtest", "--strategy", "sma_cross", "--execution", "replay", "--chunk", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(status(path) == "running" for path in (home / "runs").glob("*/status.json")))
        process.send_signal(signal.SIGSTOP)
        running = [run for run in runs_json(home) if run["status"] == "running"]
        assert running[0]["kind"] == "backtest" and running[0]["strategy"] == "sma_cross"
        assert running[0]["total_return"] is None  # no results are read from a run that has not finished
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    (run,) = runs_json(home)
    assert run["status"] == "failed" and run["problem"].endswith("ended without finishing the run")  # the listing says why
    shown = engine(home, "runs", "show", run["id"]).stdout
    assert "failed" in shown and "ended without finishing" in shown
    refused = engine(home, "report", run["id"], check=False)
    assert refused.returncode == 2 and "is failed: it has no results" in refused.stderr


def test_a_finished_run_lists_its_metrics_and_an_interrupted_one_says_so(home):
    finished = json.loads(engine(home, "backtest", "--strategy", "buy_and_hold", "--json").stdout.strip().splitlines()[-1])
    store = RunStore(home / "runs")
    with pytest.raises(KeyboardInterrupt), store.open("backtest", "buy_and_hold", ["test"]) as journal:
        journal.progress(10, 100, force=True)
        raise KeyboardInterrupt
    with pytest.raises(RuntimeError), store.open("study", "sma_cross", ["test"]):
        raise RuntimeError("storage went away")
    listed = {run["id"]: run for run in runs_json(home)}
    assert listed[finished["run_id"]] == {
        "id": finished["run_id"],
        "strategy": "buy_and_hold",
        "kind": "backtest",
        "status": "finished",
        "created": listed[finished["run_id"]]["created"],
        "total_return": finished["metrics"]["total_return"],
        "sharpe": finished["metrics"]["sharpe"],
        "max_drawdown": finished["metrics"]["max_drawdown"],
        "problem": None,
    }
    assert listed[journal.run_id]["status"] == "interrupted"
    assert sorted(run["status"] for run in listed.values()) == ["failed", "finished", "interrupted"]
    failed = next(run for run in listed.values() if run["status"] == "failed")
    assert "storage went away" in engine(home, "runs", "show", failed["id"]).stdout
    assert "storage went away" in failed["problem"]  # `runs list --json` says why, as `runs show` does


def test_results_are_written_before_the_run_is_finished(tmp_path):
    store = RunStore(tmp_path)
    with store.open("backtest", "s", ["test"]) as journal:
        assert store.status(journal.run_id)["status"] == "running"
        documents = {
            "metrics.json": {"strategy": {"sharpe": 1.0}, "baselines": {}},
            "config.json": {"strategy": {}, "execution": "vectorized"},
            "manifest.json": {"strategy": "s", "data": {}},
        }
        frames = {"equity.parquet": pd.DataFrame({"equity": [1.0]}), "trades.parquet": pd.DataFrame({"size": [1.0]})}
        journal.finish(RunRecords(documents, frames))
    assert store.status(journal.run_id)["status"] == "finished"
    assert store.list()[0].sharpe == 1.0


def test_latest_of_a_kind_skips_the_newer_runs_of_other_kinds(tmp_path):
    """`engine report latest` after an optimize means the newest backtest, not the study after it."""
    store = RunStore(tmp_path)
    with pytest.raises(RunNotFound, match=r"^no backtest runs in "):
        store.resolve("latest", "backtest")
    backtest = store.open("backtest", "s", ["test"]).run_id
    study = store.open("study", "s", ["test"]).run_id
    assert store.resolve("latest") == study and store.resolve("latest", "backtest") == backtest


def test_a_comparison_of_a_run_with_itself_is_refused(sample_home):
    ran = json.loads(engine(sample_home, "backtest", "--strategy", "sma_cross", "--json").stdout)["run_id"]
    result = engine(sample_home, "report", "--compare", ran, ran[:-1], check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"error: --compare: run {ran} is named twice; compare different runs"
