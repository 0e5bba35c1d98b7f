"""Individual scope: per walk-forward fold one model per symbol, trained on that symbol's bars alone,
stored under keys of its own, chunk-invariant, reported per symbol, released and rebuilt."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tomli_w

from engine.models.learned import planned_keys
from engine.signals.individual import IndividualProbability
from engine.signals.model import ModelProbability
from engine.strategies.schema import parse_strategy
from engine.usecases.backtest import load_bars, prepare
from engine.workspace import Workspace
from tests.in_process import engine_here
from tests.model_helpers import write_planted
from tests.test_user_errors import assert_one_line_error

SYMBOLS = ("AAA", "BBB")


def raw(scope: str = "individual", symbols=SYMBOLS, **data) -> dict:
    return {
        "name": f"planted_{scope}",
        "data": {"symbols": list(symbols), "timeframe": "1d", **data},
        "signal": {
            "kind": "model",
            "plugin": "mlp",
            "scope": scope,
            "lookback": 6,
            "seed": 2,
            "hyperparameters": {"epochs": 3},
            "labels": {"horizon": 1},
            "walk_forward": {"train_bars": 300, "predict_bars": 150},
        },
        "overlays": [{"kind": "threshold", "entry": 0.55, "exit": 0.45}],
    }


def strategy(scope: str = "individual", symbols=SYMBOLS, **data):
    return parse_strategy(raw(scope, symbols, **data), "test")


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("individual"))
    write_planted(workspace.data, n_bars=700)
    return workspace


@pytest.fixture(scope="module")
def individual(planted):
    """The individual strategy prepared (its folds trained), and every fold it reported training."""
    reported = []
    return prepare(strategy(), planted, on_fold=reported.append), reported


def test_each_fold_trains_one_model_per_symbol_with_a_key_of_its_own(planted, individual):
    prepared, reported = individual
    walk_forward = prepared.walk_forward
    count = len(walk_forward.folds)
    assert count == 3
    assert [(fold.symbol, fold.fold.index) for fold in reported] == [(s, i) for s in SYMBOLS for i in range(count)]
    keys = [fold.key for fold in reported]
    assert len(set(keys)) == len(keys) and keys == planned_keys(prepared.resolved.model, prepared.bars)
    for fold in reported:
        meta = planted.models.read_meta(fold.key)
        assert meta["symbols"] == [fold.symbol] and meta["scope"] == "individual"
    # one fold plan for all symbols: fold k of each predicts the same block
    assert [f.fold for f in walk_forward.symbols[0].folds] == [f.fold for f in walk_forward.symbols[1].folds]
    for record in prepared.predictions.fold_metrics:
        assert list(record["symbols"]) == list(SYMBOLS)
        assert record["samples"] == sum(symbol["samples"] for symbol in record["symbols"].values())


def test_a_symbols_predictions_are_its_own_models_trained_on_it_alone(planted, individual):
    prepared, _ = individual
    alone = prepare(strategy("combined", symbols=("BBB",)), planted)  # a combined model of BBB only
    assert np.isfinite(alone.walk_forward.predictions).any()
    np.testing.assert_array_equal(prepared.predictions.probabilities[:, 1], alone.predictions.probabilities[:, 0])
    # the same model, yet not the same fold: the scope is part of the key
    assert not set(planned_keys(alone.resolved.model, alone.bars)) & set(planned_keys(prepared.resolved.model, prepared.bars))


def test_combined_and_individual_runs_never_reuse_each_others_folds(planted, individual):
    prepared, reported = individual
    combined_folds = []
    combined = prepare(strategy("combined"), planted, on_fold=combined_folds.append)
    assert combined_folds and not any(fold.reused for fold in combined_folds)  # nothing taken from the individual run
    assert not {fold.key for fold in combined_folds} & {fold.key for fold in reported}
    assert not np.array_equal(combined.predictions.probabilities, prepared.predictions.probabilities)
    again = []
    prepare(strategy(), planted, on_fold=again.append)
    assert [fold.key for fold in again] == [fold.key for fold in reported] and all(fold.reused for fold in again)


def test_each_symbol_retrains_its_own_model_past_the_history_chunk_invariantly(planted, individual):
    everything = load_bars(strategy(), planted.data)
    history = strategy(end=str(everything.index()[560].date()))
    walk_forward = prepare(history, planted).walk_forward

    def run(chunk):
        stage = IndividualProbability(walk_forward)
        return np.concatenate([stage.on_chunk(part) for part in everything.chunks(chunk)]), stage

    whole, stage = run(None)
    retrained = [symbol.folds[len(walk_forward.folds) :] for symbol in stage.symbols]
    assert [[fold.symbol for fold in folds] for folds in retrained] == [["AAA"], ["BBB"]]
    assert retrained[0][0].fold == retrained[1][0].fold and retrained[0][0].key != retrained[1][0].key
    assert (whole[len(walk_forward.bars) :] > 0).all()  # past the history each symbol's deployed model predicts
    chunked, _ = run(7)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=ModelProbability.tolerance)


@pytest.fixture
def home(planted, tmp_path, monkeypatch):
    (tmp_path / "data").symlink_to(planted.data.root, target_is_directory=True)
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "planted_individual.toml").write_text(tomli_w.dumps(raw()))
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return tmp_path


def test_train_check_and_a_release_of_an_individual_strategy(home, monkeypatch, capsys):
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    trained = engine("train", "--strategy", "planted_individual")
    assert trained.returncode == 0, trained.stderr
    assert "fold 0 of AAA: trained" in trained.stderr and "fold 2 of BBB: trained" in trained.stderr
    assert "each symbol's own model (individual scope)" in trained.stdout
    checked = engine("check", "--strategy", "planted_individual")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert engine("backtest", "--strategy", "planted_individual").returncode == 0
    assert engine("release", "create", "latest", "--name", "each").returncode == 0
    release = Workspace(home).releases.get("each@1")
    folds = release.record["folds"]
    assert len(folds) == 6 and release.record["deployed"] == [folds[2], folds[5]]  # each symbol's last fold
    assert all(f"models/{key}/model.pt" in release.record["files"] for key in folds)
    assert "one per symbol" in engine("release", "show", "each@1").stdout
    shutil.rmtree(Workspace(home).models.root)  # the rebuild needs nothing but the package and the bars
    verified = engine("release", "verify", "each")
    assert verified.returncode == 0, verified.stderr


def test_a_bad_scope_and_an_individual_ensemble_member_are_one_line_errors(home, monkeypatch, capsys):
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    bad = raw()
    bad["signal"]["scope"] = "per_symbol"
    (home / "strategies" / "bad_scope.toml").write_text(tomli_w.dumps({**bad, "name": "bad_scope"}))
    assert_one_line_error(engine("backtest", "--strategy", "bad_scope"), r"signal\.model\.scope: Input should be 'combined' or")
    ensemble = {
        **raw(),
        "name": "mixed",
        "signal": {
            "kind": "ensemble",
            "members": [{"strategy": "planted_individual"}, {"plugin": "mlp"}],
            "labels": {"horizon": 1},
            "walk_forward": {"train_bars": 300, "predict_bars": 150},
        },
    }
    (home / "strategies" / "mixed.toml").write_text(tomli_w.dumps(ensemble))
    assert_one_line_error(
        engine("backtest", "--strategy", "mixed"), r"members\[0\].*trains a model per symbol .*members are combined models"
    )
