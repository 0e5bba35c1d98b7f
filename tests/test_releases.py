"""Release packages: made from a backtest run, numbered, immutable, checked on every read, and
rebuilt from the package alone to the run's metrics."""

from __future__ import annotations

import json
import shutil
import stat
import tomllib
from dataclasses import replace

import numpy as np
import pytest

from engine.kernel.node import simulate
from engine.stores.order_journal import OrderJournal
from engine.usecases.paper_control import JOURNAL
from engine.usecases.release import deployed, traded_strategy
from engine.workspace import Workspace
from tests.in_process import engine_here
from tests.paper_session import stepped_session
from tests.test_one_session import assert_same_orders_and_equity
from tests.test_user_errors import assert_one_line_error

# A small model whose threshold is calibrated: the rebuild must calibrate it again over the same window.
TINY_GRU = """
name = "tiny_gru"
[data]
symbols = ["SP500", "NASDAQ"]
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
predict_bars = 300
[[overlays]]
kind = "threshold"
entry = 0.5
exit = 0.5
calibrate = { validation_bars = 100, entries = [0.5, 0.55], exits = [0.45, 0.5] }
"""


@pytest.fixture
def home(tmp_path, monkeypatch, sample_home):
    (tmp_path / "data").symlink_to(sample_home / "data", target_is_directory=True)
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return tmp_path


def test_a_release_of_a_rule_strategy_is_numbered_checked_and_rebuilds(home, monkeypatch, capsys):
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    assert engine("backtest", "--strategy", "sma_cross").returncode == 0
    first = engine("release", "create", "latest", "--name", "sma")
    assert first.returncode == 0 and first.stdout.startswith("sma@1")
    assert engine("release", "create", "latest", "--name", "sma").stdout.startswith("sma@2")
    release = Workspace(home).releases.get("sma")
    assert release.reference == "sma@2" and release.record["folds"] == []
    assert json.loads((release.path / "strategy.json").read_text())["name"] == "sma_cross"
    assert {"strategy.json", "run/metrics.json", "run/config.json", "run/manifest.json", "run/report/report.html"} <= set(
        release.record["files"]
    )
    assert all(not path.stat().st_mode & stat.S_IWUSR for path in release.path.rglob("*") if path.is_file())

    listed = engine("release", "list", "--json")
    assert [entry["release"] for entry in json.loads(listed.stdout)] == ["sma@1", "sma@2"]
    shown = engine("release", "show", "sma@1")
    assert "final_equity" in shown.stdout and "each matching its SHA-256" in shown.stdout
    verified = engine("release", "verify", "sma@1")
    assert verified.returncode == 0, verified.stderr
    assert "metrics equal to run" in verified.stdout


def test_a_changed_missing_or_added_file_is_refused_by_name(home, monkeypatch, capsys):
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    engine("backtest", "--strategy", "sma_cross")
    for name in ("changed", "missing", "added"):
        engine("release", "create", "latest", "--name", name)
    folder = Workspace(home).releases.root
    metrics = folder / "changed" / "1" / "run" / "metrics.json"
    metrics.chmod(stat.S_IRUSR | stat.S_IWUSR)
    metrics.write_text(metrics.read_text().replace("final_equity", "final_equitY"))
    (folder / "missing" / "1" / "strategy.json").unlink()
    (folder / "added" / "1" / "run" / "notes.txt").write_text("a later note")

    assert_one_line_error(engine("release", "verify", "changed@1"), r"changed@1 is damaged: run/metrics.json does not match its")
    assert_one_line_error(engine("release", "show", "missing"), r"missing@1 is damaged: strategy.json is missing")
    assert_one_line_error(engine("release", "verify", "added@1"), r"added@1 is damaged: run/notes.txt was added after it")
    listed = engine("release", "list")
    assert listed.returncode == 0 and listed.stderr.count("is damaged") == 3


def test_bad_references_and_names_are_one_line_errors(home, monkeypatch, capsys):
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    assert_one_line_error(engine("release", "create", "nonexistent", "--name", "x"), r"no run 'nonexistent'")
    engine("backtest", "--strategy", "sma_cross")
    assert_one_line_error(engine("release", "create", "latest", "--name", "bad/name"), r"release name 'bad/name'")
    engine("release", "create", "latest", "--name", "ok")
    assert_one_line_error(engine("release", "show", "ok@3"), r"no release ok@3: ok has versions 1")
    assert_one_line_error(engine("release", "show", "ok@x"), r"the version after @ must be a whole number")
    assert_one_line_error(engine("release", "verify", "other"), r"no release 'other'")
    assert not any(Workspace(home).releases.root.glob("*/.*"))  # no staging folder left


def test_a_model_release_holds_every_fold_and_rebuilds_without_training(home, monkeypatch, capsys):
    (home / "strategies").mkdir()
    (home / "strategies" / "tiny_gru.toml").write_text(TINY_GRU)
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    assert engine("backtest", "--strategy", "tiny_gru").returncode == 0
    assert engine("release", "create", "latest", "--name", "tiny").returncode == 0
    release = Workspace(home).releases.get("tiny@1")
    folds = release.record["folds"]
    assert len(folds) >= 2 and release.record["deployed"] == folds[-1]
    assert all(f"models/{key}/model.pt" in release.record["files"] for key in folds)
    assert "calibrate" in json.loads((release.path / "strategy.json").read_text())["overlays"][0]

    models = Workspace(home).models.root
    shutil.rmtree(models)  # the rebuild needs nothing but the package and the bars
    verified = engine("release", "verify", "tiny")
    assert verified.returncode == 0, verified.stderr
    assert not models.exists()

    assert_one_line_error(engine("release", "create", "latest", "--name", "tiny"), r"model store no longer holds fold")


TINY_LIVE = """
name = "tiny_live"
[data]
symbols = ["SYN00", "SYN01"]
timeframe = "1h"
[signal]
kind = "model"
plugin = "gru"
scope = "{scope}"
lookback = 8
seed = 2
[signal.hyperparameters]
hidden = 8
epochs = 2
[signal.walk_forward]
train_bars = 150
predict_bars = 60
[[overlays]]
kind = "threshold"
entry = 0.5
exit = 0.5
"""


def released_session(trader, monkeypatch, capsys, text: str, name: str, bars: int):
    """The strategy file `text` backtested, released as `name`@1 and traded from the release for
    `bars` live bars with an empty model store: the release, the session and its run id."""
    workspace, _, sandbox = trader
    strategy = tomllib.loads(text)["name"]
    (workspace.strategies / f"{strategy}.toml").write_text(text)
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    with sandbox() as url:
        assert engine("backtest", "--strategy", strategy).returncode == 0
        assert engine("release", "create", "latest", "--name", name).returncode == 0
        release = workspace.releases.get(f"{name}@1")
        shutil.rmtree(workspace.models.root)  # the session trades the package's models, and trains none
        session, run_id = stepped_session(workspace, url, None, bars, release=release)
    assert not workspace.models.root.exists() or not any(workspace.models.root.iterdir())
    return release, session, run_id


@pytest.mark.parametrize("scope", ["combined", "individual"])  # individual: each symbol's deployed model, from the package
def test_a_paper_session_of_a_release_trades_its_deployed_model_and_trains_nothing(trader, monkeypatch, capsys, scope):
    workspace = trader[0]
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    release, _, run_id = released_session(trader, monkeypatch, capsys, TINY_LIVE.replace("{scope}", scope), "live", 3)
    decisions = OrderJournal(workspace.runs.path(run_id) / JOURNAL).decisions()
    assert len(decisions) == 3
    # Each live bar's probability is the deployed model's, as the release's folds give it over the same bars.
    prepared = deployed(release, traded_strategy(release, workspace), workspace)
    assert prepared.walk_forward.folds[-1].fold.predict_end == len(prepared.bars) - 3  # the live bars are past every fold
    live = prepared.predictions.probabilities[-3:]
    for (_, _, outputs), expected in zip(decisions, live, strict=True):
        model = next(weights for topic, weights in outputs.items() if "model:gru" in topic)
        np.testing.assert_allclose([model["SYN00"], model["SYN01"]], expected, atol=1e-6)
    assert workspace.runs.load(run_id).kind == "paper"

    resumed = engine("paper", "--strategy", "tiny_live", "--session", run_id, "--max-bars", "1")
    assert_one_line_error(resumed, rf"session {run_id} traded live@1: resume it with --release live@1")


ENSEMBLE_LIVE = """
name = "ensemble_live"
[data]
symbols = ["SYN00", "SYN01"]
timeframe = "1h"
[signal]
kind = "ensemble"
weights = "validation_sharpe"
[signal.walk_forward]
train_bars = 150
predict_bars = 60
[[signal.members]]
plugin = "mlp"
lookback = 4
seed = 1
hyperparameters = { epochs = 2 }
[[signal.members]]
plugin = "gru"
lookback = 8
seed = 2
hyperparameters = { hidden = 8, epochs = 2 }
[[overlays]]
kind = "threshold"
entry = 0.5
exit = 0.5
[execution]
size_at = "close"
"""
ENSEMBLE_LIVE_BARS = 8


def test_a_paper_session_of_an_ensemble_release_trades_its_members_folds_as_its_backtest_and_trains_nothing(
    trader, monkeypatch, capsys
):
    workspace = trader[0]
    release, session, _ = released_session(trader, monkeypatch, capsys, ENSEMBLE_LIVE, "blend", ENSEMBLE_LIVE_BARS)
    assert len(release.record["folds"]) % 2 == 0  # each member's folds
    # The backtest of the release's folds and weights over the same bars, sized at the close, from the first live bar.
    prepared = deployed(release, traded_strategy(release, workspace), workspace)
    live_from = len(prepared.bars) - ENSEMBLE_LIVE_BARS
    assert prepared.walk_forward.folds[-1].fold.predict_end == live_from  # the live bars are past every fold
    backtest = simulate(replace(prepared, trade_from=live_from)).execution
    assert_same_orders_and_equity(session.run.execution, backtest, ENSEMBLE_LIVE_BARS)
