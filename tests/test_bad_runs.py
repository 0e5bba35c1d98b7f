"""A damaged run (a result file garbage, empty or missing) is listed as damaged, saying what is wrong;
its own commands refuse it in one line naming the run and the file; the other runs stay usable and
nothing stored is changed. Runs made in the same second list in the order they were made."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.stores.runs import RunRecords, RunStore
from tests.test_cli import engine
from tests.test_user_errors import assert_one_line_error

# How a file is damaged: new contents, or None to delete it; and what the error says.
DAMAGE = {
    "metrics.json garbage": ("metrics.json", "{nope", r"metrics\.json is not valid JSON"),
    "metrics.json empty": ("metrics.json", "", r"metrics\.json is empty"),
    "metrics.json not an object": ("metrics.json", "[1, 2]", r"metrics\.json is not a JSON object"),
    "metrics.json without metrics": ("metrics.json", "{}", r"metrics\.json has no 'strategy'"),
    "manifest.json garbage": ("manifest.json", "\x00\x01garbage", r"manifest\.json is not valid JSON"),
    "manifest.json empty": ("manifest.json", "", r"manifest\.json is empty"),
    "status.json garbage": ("status.json", "{nope", r"status\.json is not valid JSON"),
    "config.json missing": ("config.json", None, r"config\.json is missing"),
    "equity.parquet missing": ("equity.parquet", None, r"equity\.parquet is missing"),
    "trades.parquet missing": ("trades.parquet", None, r"trades\.parquet is missing"),
    "equity.parquet truncated": ("equity.parquet", "PAR1 cut short", r"equity\.parquet is not a readable Parquet file"),
}


@pytest.fixture(scope="module")
def finished_run(sample_home, tmp_path_factory) -> Path:
    """One finished sma_cross backtest, to copy into run stores of their own."""
    home = tmp_path_factory.mktemp("one-run")
    (home / "data").symlink_to(sample_home / "data")
    engine(home, "backtest", "--strategy", "sma_cross")
    (run,) = [path for path in (home / "runs").iterdir() if path.is_dir()]
    return run


def copy_run(run: Path, home: Path, suffix: str) -> Path:
    """A copy of `run` in `home`'s run store under an id of its own (the same creation time)."""
    copy = home / "runs" / f"{run.name.rsplit('-', 1)[0]}-{suffix}"
    shutil.copytree(run, copy)
    status = json.loads((copy / "status.json").read_text())
    (copy / "status.json").write_text(json.dumps({**status, "run_id": copy.name}))
    return copy


def contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_run_is_listed_as_such_and_refused_by_name(cli, finished_run, tmp_path, monkeypatch, case):
    name, damaged_text, pattern = DAMAGE[case]
    (tmp_path / "data").symlink_to(finished_run.parent.parent / "data")
    intact, damaged = copy_run(finished_run, tmp_path, "aaaaaa"), copy_run(finished_run, tmp_path, "bbbbbb")
    if damaged_text is None:
        (damaged / name).unlink()
    else:
        (damaged / name).write_text(damaged_text)
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    before = contents(tmp_path / "runs")

    listed = cli("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = {run["id"]: run for run in json.loads(listed.stdout.splitlines()[-1])}
    assert runs[intact.name]["status"] == "finished" and runs[intact.name]["sharpe"] is not None
    assert runs[damaged.name]["status"] == "damaged"
    assert name in runs[damaged.name]["problem"] and runs[intact.name]["problem"] is None
    table = cli("runs", "list")
    assert table.returncode == 0 and intact.name in table.stdout and damaged.name in table.stdout
    assert f"run {damaged.name} is damaged" in table.stderr and name in table.stderr

    full_name = f"run {damaged.name}: {pattern}"
    assert_one_line_error(cli("runs", "show", damaged.name), full_name)
    assert_one_line_error(cli("report", damaged.name), full_name)
    assert_one_line_error(cli("report", "--compare", intact.name, damaged.name), full_name)
    assert cli("runs", "show", intact.name).returncode == 0
    assert contents(tmp_path / "runs") == before  # nothing rewritten, nothing half-written

    assert cli("runs", "rm", damaged.name).returncode == 0  # a damaged run can still be removed
    assert [run["id"] for run in json.loads(cli("runs", "list", "--json").stdout.splitlines()[-1])] == [intact.name]


def test_a_finished_study_run_is_shown_and_not_taken_for_a_backtest(cli, tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    with store.open("study", "sma_cross", ["engine", "optimize"]) as journal:
        journal.finish(RunRecords({"study.json": {"study": "sma", "storage": "sqlite:///x", "trials": {"complete": 3}}}))
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    shown = cli("runs", "show", journal.run_id)
    assert shown.returncode == 0 and "study sma" in shown.stdout and "engine optimize show sma" in shown.stdout
    assert_one_line_error(cli("report", journal.run_id), rf"run {journal.run_id} is a study: `engine optimize show sma`")


def test_runs_made_in_the_same_second_list_in_the_order_they_were_made(cli, tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    made = []
    for strategy in ("zz_first", "mm_second", "aa_third"):  # ids in the reverse order of creation
        with store.open("backtest", strategy, ["test"]) as journal:
            journal.fail("test")
        made.append(journal.run_id)
    assert store.ids() == made
    assert store.resolve("latest") == made[-1]
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    assert [run["id"] for run in json.loads(cli("runs", "list", "--json").stdout.splitlines()[-1])] == made
