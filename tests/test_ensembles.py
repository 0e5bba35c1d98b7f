"""Ensembles of model members: trained per member on one fold plan, weighted per fold from what was
known before the fold, chunk-invariant, and reported with their weights."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
import tomli_w

from engine.optimize.space import SearchSpace, apply_parameters
from engine.signals.model import ModelProbability
from engine.strategies.resolution import resolve_strategy
from engine.strategies.schema import OptimizeSpec, parse_strategy
from engine.usecases.backtest import prepare
from engine.usecases.check import check_chunk_invariance
from engine.usecases.release import deployed, traded_strategy
from engine.workspace import Workspace
from tests.in_process import engine_here
from tests.model_helpers import write_planted
from tests.test_user_errors import assert_one_line_error

MEMBERS = [
    {"plugin": "mlp", "lookback": 6, "hyperparameters": {"epochs": 4}},
    {"plugin": "lstm", "lookback": 8, "hyperparameters": {"epochs": 3, "hidden": 8}},
    {"plugin": "gru", "lookback": 10, "hyperparameters": {"epochs": 3, "hidden": 8}},
]


def ensemble(weights="validation_f1", members=MEMBERS, **signal) -> dict:
    return {
        "name": "planted_ensemble",
        "data": {"symbols": ["AAA", "BBB"], "timeframe": "1d"},
        "signal": {
            "kind": "ensemble",
            "weights": weights,
            "members": members,
            "labels": {"horizon": 1},
            "walk_forward": {"train_bars": 400, "predict_bars": 250},
            **signal,
        },
        "overlays": [{"kind": "threshold", "entry": 0.55, "exit": 0.45}],
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("ensembles"))
    write_planted(workspace.data, n_bars=1150)
    return workspace


def test_three_members_train_weighted_by_validation_f1_and_pass_the_chunk_check(planted):
    prepared = prepare(parse_strategy(ensemble(), "test"), planted)
    folds = prepared.predictions.fold_metrics
    assert len(folds) == 3
    for fold in folds:
        assert list(fold["weights"]) == ["mlp", "lstm", "gru"] and sum(fold["weights"].values()) == pytest.approx(1.0)
        scores = np.array([max(fold["members"][name]["validation"]["f1"], 0.0) for name in fold["weights"]])
        expected = scores / scores.sum() if scores.sum() > 0 else np.full(3, 1 / 3)
        np.testing.assert_allclose(list(fold["weights"].values()), expected)
        assert all(
            member["fold"] == fold["fold"] and member["predict_start"] == fold["predict_start"]
            for member in fold["members"].values()
        )
    assert folds[0]["roc_auc"] > 0.55  # the planted persistence is found
    report = check_chunk_invariance(prepared, (1, 7))
    assert report.passed, report


def test_a_blocks_weights_come_only_from_bars_before_it(planted):
    strategy = parse_strategy(ensemble(weights="validation_sharpe"), "test")
    whole = prepare(strategy, planted).predictions.fold_metrics
    cut = whole[1]["predict_start"][:10]  # the history ends where the second block begins: its future is gone
    early = prepare(strategy.with_overrides(data={"end": cut}), planted).predictions.fold_metrics
    assert early[0]["weights"] == whole[0]["weights"]


def test_given_weights_of_one_member_give_its_probabilities_exactly(planted):
    prepared = prepare(parse_strategy(ensemble(weights=[1.0, 0.0, 0.0]), "test"), planted)
    first = ModelProbability(prepared.walk_forward.members[0]).on_chunk(prepared.bars)
    assert np.array_equal(prepared.predictions.probabilities, first)
    assert all(fold["weights"] == {"mlp": 1.0, "lstm": 0.0, "gru": 0.0} for fold in prepared.predictions.fold_metrics)


def test_engine_train_shows_each_members_weight_and_the_report_names_them(planted, monkeypatch, capsys):
    (planted.root / "strategies").mkdir(exist_ok=True)
    (planted.root / "strategies" / "planted_ensemble.toml").write_text(tomli_w.dumps(ensemble(weights="equal")))
    monkeypatch.setenv("ENGINE_HOME", str(planted.root))
    trained = engine_here(monkeypatch, capsys, "train", "--strategy", "planted_ensemble")
    assert trained.returncode == 0, trained.stderr
    assert "each member's weight" in trained.stdout and "0.333" in trained.stdout
    assert engine_here(monkeypatch, capsys, "backtest", "--strategy", "planted_ensemble").returncode == 0
    run = planted.runs.load("latest")
    assert all(fold["weights"] == {"mlp": 1 / 3, "lstm": 1 / 3, "gru": 1 / 3} for fold in run.folds)
    assert "mlp 0.33, lstm 0.33, gru 0.33" in (run.path / "report" / "report.html").read_text()


@pytest.mark.parametrize(
    "signal, problem",
    [
        ({"members": MEMBERS[:1]}, r"members: List should have at least 2 items"),
        ({"weights": [1.0, 2.0]}, r"weights: 2 numbers for 3 members"),
        ({"members": [MEMBERS[0], MEMBERS[0]]}, r"members are named \['mlp', 'mlp'\]"),
        (
            {"members": [*MEMBERS[:2], {"strategy": "sma_cross"}]},
            r"signal.members\[2\].strategy: sma_cross is not a model strategy",
        ),
        ({"members": [*MEMBERS[:2], {"plugin": "nonexistent"}]}, r"signal.members\[2\].plugin"),
        ({"members": [{**member, "include": False} for member in MEMBERS]}, r"every member has include = false"),
        (
            {"weights": [1.0, 0.0, 0.0], "members": [{**MEMBERS[0], "include": False}, *MEMBERS[1:]]},
            r"every included member's is 0",
        ),
    ],
)
def test_bad_ensembles_are_one_line_errors(tmp_path, monkeypatch, capsys, signal, problem):
    (tmp_path / "strategies").mkdir()
    table = ensemble()
    table["signal"] = {**table["signal"], **signal}
    (tmp_path / "strategies" / "bad_ensemble.toml").write_text(tomli_w.dumps(table))
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    assert_one_line_error(engine_here(monkeypatch, capsys, "train", "--strategy", "bad_ensemble"), problem)


def test_ablation_backtests_each_member_alone_through_the_chain_beside_the_ensemble(planted, monkeypatch, capsys):
    (planted.root / "strategies").mkdir(exist_ok=True)
    (planted.root / "strategies" / "lstm_only.toml").write_text(tomli_w.dumps(ensemble(weights=[0.0, 1.0, 0.0])))
    monkeypatch.setenv("ENGINE_HOME", str(planted.root))
    reply = engine_here(monkeypatch, capsys, "backtest", "--strategy", "lstm_only", "--ablation", "--json")
    assert reply.returncode == 0, reply.stderr
    steps = {step["step"]: step for step in json.loads(reply.stdout.splitlines()[-1])["ablation"]}
    overlay_steps = ["raw", "+threshold", "+regime", "+risk", "+cost filter"]
    assert list(steps) == [*overlay_steps, "mlp alone", "lstm alone", "gru alone", "ensemble"]
    metrics = lambda step: {name: value for name, value in steps[step].items() if name != "step"}  # noqa: E731
    assert metrics("ensemble") == metrics("+cost filter") == metrics("lstm alone")  # all its weight on lstm
    assert steps["lstm alone"]["trades"] > 0 and metrics("gru alone") != metrics("lstm alone")
    assert steps["gru alone"]["overlays"] == ["threshold"]
    for summary in (planted.models.root / "predictions").glob("*.json"):  # as stored before members were kept
        summary.write_text(
            json.dumps({name: value for name, value in json.loads(summary.read_text()).items() if name != "members"})
        )
    shown = engine_here(monkeypatch, capsys, "backtest", "--strategy", "lstm_only", "--ablation")
    assert "each ensemble member alone through the whole chain" in shown.stdout and "gru alone" in shown.stdout


TUNED_MEMBERS = {
    "signal.weights.mlp": {"low": 0.1, "high": 1.0},
    "signal.weights.lstm": {"low": 0.1, "high": 1.0},
    "signal.members.gru.include": {"choices": [True, False]},
}


def test_a_study_tunes_member_weights_and_choice_reusing_the_members_folds(planted, monkeypatch, capsys):
    table = ensemble(weights="equal") | {"name": "tuned_ensemble", "optimize": {"space": TUNED_MEMBERS, "holdout": 0.3}}
    (planted.root / "strategies").mkdir(exist_ok=True)
    (planted.root / "strategies" / "tuned_ensemble.toml").write_text(tomli_w.dumps(table))
    monkeypatch.setenv("ENGINE_HOME", str(planted.root))
    study = ("optimize", "--strategy", "tuned_ensemble", "--study", "members", "--seed", "5")
    assert engine_here(monkeypatch, capsys, *study, "--trials", "1").returncode == 0  # trains what the study needs
    folds = lambda: {path.name: path.stat().st_mtime_ns for path in planted.models.root.glob("*/meta.json")}  # noqa: E731
    trained = folds()
    resumed = engine_here(monkeypatch, capsys, *study, "--trials", "5")
    assert resumed.returncode == 0, resumed.stderr
    assert folds() == trained  # weights and choice train nothing: every trial loads the members' folds
    trials = optuna.load_study(study_name="members", storage=f"sqlite:///{planted.root / 'runs' / 'studies.sqlite3'}").trials
    assert [trial.state.name for trial in trials] == ["COMPLETE"] * 5
    assert len({trial.params["signal.weights.mlp"] for trial in trials}) >= 4  # the resumed sampler starts from its seed
    assert {trial.params["signal.members.gru.include"] for trial in trials} == {True, False}
    assert len({tuple(trial.values) for trial in trials}) > 1  # the weights move the result


def test_a_study_may_tune_the_weighting_rule():
    strategy = parse_strategy(ensemble(weights="equal"), "test")
    space = SearchSpace.of(strategy, OptimizeSpec.model_validate({"space": {"signal.weights": {"choices": ["validation_f1"]}}}))
    assert apply_parameters(strategy, {"signal.weights": "validation_f1"}).signal.weights == "validation_f1" and space.ranges
    given = apply_parameters(strategy, {"signal.weights.gru": 0.5, "signal.members.mlp.include": False}).signal
    assert given.weights == [1.0, 1.0, 0.5] and [member.include for member in given.members] == [False, True, True]


WEIGHT = {"low": 0.0, "high": 1.0}


@pytest.mark.parametrize(
    "space, problem",
    [
        (
            {"signal.weights.cnn": WEIGHT},
            r"signal.weights.cnn: strategy planted_ensemble has no member 'cnn' \(members: mlp, lstm",
        ),
        (
            {"signal.members.mlp.lookback": WEIGHT},
            r"unknown parameter 'signal.members.mlp.lookback'; an ensemble tunes signal.members",
        ),
        ({"signal.members": {"choices": [True]}}, r"unknown parameter 'signal.members'; an ensemble tunes signal.members.MEMBER"),
        ({"signal.weights": {"choices": ["equal", "median"]}}, r"signal.weights: choice 'median' is not valid"),
        ({"signal.weights": {"choices": ["equal"]}, "signal.weights.mlp": WEIGHT}, r"tune signal.weights \(the weighting\) or"),
    ],
)
def test_bad_ensemble_parameters_are_one_line_errors(planted, monkeypatch, capsys, space, problem):
    (planted.root / "strategies").mkdir(exist_ok=True)
    table = ensemble() | {"optimize": {"space": space}}
    (planted.root / "strategies" / "bad_space.toml").write_text(tomli_w.dumps(table))
    monkeypatch.setenv("ENGINE_HOME", str(planted.root))
    assert_one_line_error(engine_here(monkeypatch, capsys, "optimize", "--strategy", "bad_space", "--trials", "1"), problem)


def test_a_retraining_ensemble_release_weighs_each_new_block_as_the_backtest_over_those_bars(planted, monkeypatch, capsys):
    (planted.root / "strategies").mkdir(exist_ok=True)
    (planted.root / "strategies" / "sharpe_ensemble.toml").write_text(tomli_w.dumps(ensemble(weights="validation_sharpe")))
    monkeypatch.setenv("ENGINE_HOME", str(planted.root))
    engine = lambda *args: engine_here(monkeypatch, capsys, *args)  # noqa: E731
    full = prepare(parse_strategy(ensemble(weights="validation_sharpe"), "test"), planted)
    cut = full.predictions.fold_metrics[1]["predict_start"][:10]  # the release ends inside the second block
    assert engine("backtest", "--strategy", "sharpe_ensemble", "--end", cut).returncode == 0
    for retrain in (["--retrain"], []):
        assert engine("release", "create", "latest", "--name", "blend", *retrain).returncode == 0
    # The bars after the release arrive (as a paper session's live bars would): its strategy without the end.
    later = lambda release: resolve_strategy(traded_strategy(release, planted).strategy.with_overrides(data={"end": None}))  # noqa: E731
    retrained, kept = (
        deployed(planted.releases.get(f"blend@{n}"), later(planted.releases.get(f"blend@{n}")), planted) for n in (1, 2)
    )
    assert len(retrained.walk_forward.folds) == 2 and len(full.walk_forward.folds) == 3
    np.testing.assert_allclose(retrained.predictions.probabilities, full.predictions.probabilities, atol=1e-5)
    third = slice(full.walk_forward.folds[2].fold.predict_start, None)  # the block the session retrained for
    assert not np.allclose(kept.predictions.probabilities[third], full.predictions.probabilities[third], atol=1e-3)
