"""Listing and housekeeping as users of freqtrade and vectorbt expect: lists with --json, run
references by prefix or `latest`, removing runs."""

from __future__ import annotations

import json
import os

import pytest
from test_cli import engine

from engine.data.sample import write_sample
from engine.data.store import DataStore
from engine.stores.runs import RunStore


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A workspace with the sample data, two sma_cross runs and a strategy of the user's own."""
    home = tmp_path_factory.mktemp("housekeeping")
    write_sample(DataStore(home / "data"))
    (home / "strategies").mkdir()
    builtin = engine(home, "strategies", "list", "--json")
    sma_path = next(row["path"] for row in json.loads(builtin.stdout.splitlines()[-1]) if row["name"] == "sma_cross")
    with open(sma_path) as source:
        (home / "strategies" / "mine.toml").write_text(source.read().replace('name = "sma_cross"', 'name = "mine"'))
    (home / "strategies" / "broken.toml").write_text('name = "broken"\n[data]\nsymbols = 3\n')
    for _ in range(2):
        engine(home, "backtest", "--strategy", "mine", "--json")
    return home


def json_of(result) -> list | dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_strategies_list_names_signal_symbols_and_origin(home):
    rows = {row["name"]: row for row in json_of(engine(home, "strategies", "list", "--json"))}
    assert rows["sma_cross"]["origin"] == "built-in" and rows["gru93"]["signal"] == "model gru"
    assert rows["mine"]["origin"] == "workspace" and rows["mine"]["symbols"] == ["SP500", "NASDAQ"]
    assert "broken" in rows["broken"]["error"] and rows["broken"]["signal"] is None
    table = engine(home, "strategies", "list")
    assert "mine" in table.stdout and "invalid" in table.stdout and "strategy broken is invalid" in table.stderr


def test_a_run_is_named_by_id_prefix_or_latest(home):
    first, latest = RunStore(home / "runs").ids()
    assert first in engine(home, "runs", "show", first[:-2]).stdout.replace("\n", "")
    assert latest in engine(home, "runs", "show", "latest").stdout.replace("\n", "")
    ambiguous = engine(home, "runs", "show", "20", check=False)
    assert ambiguous.returncode == 2 and "ambiguous" in ambiguous.stderr and ambiguous.stderr.count("\n") == 1
    assert engine(home, "report", "latest").stdout.startswith("report written to")


def test_runs_rm_removes_finished_runs_and_refuses_a_running_one(home):
    runs = RunStore(home / "runs")
    journal = runs.open("backtest", "mine", ["test"])  # running, in this (live) process
    refused = engine(home, "runs", "rm", journal.run_id, check=False)
    assert refused.returncode == 2 and f"pid {os.getpid()}" in refused.stderr and journal.run_id in runs.ids()
    journal.fail("stopped by the test")
    removed = engine(home, "runs", "rm", "latest")
    assert f"removed {journal.run_id}" in removed.stdout and journal.run_id not in runs.ids()
    assert [run["id"] for run in json_of(engine(home, "runs", "list", "--json"))] == runs.ids()


def test_optimize_list_shows_the_studies_in_the_storage(home):
    engine(home, "optimize", "--strategy", "mine", "--trials", "2", "--seed", "1", "--study", "tiny")
    (study,) = json_of(engine(home, "optimize", "list", "--json"))
    assert study["study"] == "tiny" and study["strategy"] == "mine" and study["finished"] == study["trials"] == 2
    assert study["objectives"] == ["sharpe", "max_drawdown"]


def test_models_prune_deletes_only_folds_no_strategy_uses(home, monkeypatch):
    from engine.models.walkforward import planned_fold_keys
    from engine.strategies.files import load_strategy
    from engine.strategies.resolution import resolve_strategy
    from engine.usecases.backtest import load_bars
    from engine.workspace import Workspace

    monkeypatch.setenv("ENGINE_HOME", str(home))
    gru93 = resolve_strategy(load_strategy("gru93"))
    used = planned_fold_keys(gru93.model, load_bars(gru93.strategy, Workspace(home).data))
    for key in (used[0], "0" * 32):  # a fold gru93 uses, and one left by a study's trial
        (home / "models" / key).mkdir(parents=True)
        (home / "models" / key / "meta.json").write_text(json.dumps({"plugin": "gru"}))
    broken, aside = home / "strategies" / "broken.toml", home / "broken.toml"
    broken.rename(aside)  # while a strategy cannot be read, its folds cannot be told apart
    try:
        preview = json_of(engine(home, "models", "prune", "--dry-run", "--json"))
        assert [fold["key"] for fold in preview] == ["0" * 32] and (home / "models" / ("0" * 32)).exists()
        assert "deleted 1 folds" in engine(home, "models", "prune").stdout
        assert sorted(path.name for path in (home / "models").iterdir()) == [used[0]]
    finally:
        aside.rename(broken)
    refused = engine(home, "models", "prune", check=False)
    assert refused.returncode == 2 and "strategy broken" in refused.stderr and "nothing deleted" in refused.stderr
