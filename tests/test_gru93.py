"""gru93 on the real sample data: walk-forward, out of sample only, chunk-invariant, beside its baselines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.strategies.files import load_strategy
from engine.usecases.backtest import prepare, simulate
from tests.helpers import imported_modules


@pytest.fixture(scope="module")
def gru93(sample_home):
    from engine.workspace import Workspace

    return prepare(load_strategy("gru93"), Workspace(sample_home))


def test_gru93_is_the_seed_candidate():
    signal = load_strategy("gru93").signal
    assert (signal.plugin, signal.lookback) == ("gru", 24)
    hp = signal.hyperparameters
    assert (hp["loss"], hp["focal_alpha"], hp["focal_gamma"]) == ("focal", 0.25, 2.0)
    assert (hp["learning_rate"], hp["weight_decay"], hp["dropout"], hp["grad_clip"]) == (1e-3, 0.01, 0.3, 1.0)


def test_predictions_and_targets_do_not_depend_on_chunk_size(gru93):
    whole = simulate(gru93, None, "sim")
    model_topic, final_topic = list(whole.stage_outputs)[0], list(whole.stage_outputs)[-1]
    assert model_topic.endswith("model:gru")
    assert whole.stage_outputs[model_topic].max() > 0  # it predicts out of sample
    for chunk in (7, 1):
        chunked = simulate(gru93, chunk, "sim")
        np.testing.assert_allclose(chunked.stage_outputs[model_topic], whole.stage_outputs[model_topic], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(chunked.stage_outputs[final_topic], whole.stage_outputs[final_topic])
        np.testing.assert_allclose(chunked.execution.equity, whole.execution.equity, rtol=1e-9)


def test_engine_check_passes_for_gru93(gru93):
    from engine.usecases.check import check_chunk_invariance

    report = check_chunk_invariance(gru93, (7,))
    assert report.passed, [d for d in report.differences if d.moved]


def test_backtest_and_train_commands(sample_home, gru93):
    env = {**os.environ, "ENGINE_HOME": str(sample_home)}
    result = subprocess.run(
        [sys.executable, "-m", "engine", "backtest", "--strategy", "gru93", "--ablation", "--json"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "training" not in result.stderr  # the fixture's folds (or predictions stored from them) are reused
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["metrics"]["start"] == str(gru93.bars.index()[gru93.trade_from])
    assert gru93.trade_from > gru93.walk_forward.first_prediction_row  # after the calibration window
    assert set(payload["baselines"]) == {"buy & hold", "sma_cross"}
    assert payload["baselines"]["sma_cross"]["start"] == payload["metrics"]["start"]

    # The ablation: the full chain trades less than the raw signal.
    steps = {step["step"]: step for step in payload["ablation"]}
    assert list(steps) == ["raw", "+threshold", "+regime", "+risk", "+cost filter"]
    assert steps["+cost filter"]["trades"] == payload["metrics"]["trades"]
    assert steps["+cost filter"]["trades"] < steps["raw"]["trades"]
    assert steps["+cost filter"]["turnover"] < steps["raw"]["turnover"]
    run_dir = sample_home / "runs" / payload["run_id"]
    assert json.loads((run_dir / "ablation.json").read_text())["steps"] == payload["ablation"]
    # Calibrated thresholds are stored with the strategy the run used.
    calibration = json.loads((run_dir / "calibration.json").read_text())["thresholds"][0]
    threshold = json.loads((run_dir / "config.json").read_text())["strategy"]["overlays"][0]
    assert "calibrate" not in threshold
    assert (threshold["entry"], threshold["exit"]) == (calibration["chosen"]["entry"], calibration["chosen"]["exit"])
    assert payload["metrics"]["start"] > calibration["validation_end"]

    # The first run stored the model's predictions: a second one replays them without importing torch.
    again = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "engine", "backtest", "--strategy", "gru93", "--json"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    imported = imported_modules(again.stderr)
    assert "engine.cli" in imported and "torch" not in imported and "walk-forward folds" not in again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["metrics"] == payload["metrics"]

    trained = subprocess.run(
        [sys.executable, "-m", "engine", "train", "--strategy", "gru93", "--json"], env=env, capture_output=True, text=True
    )
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout.strip().splitlines()[-1])
    assert len(report["folds"]) == len(gru93.walk_forward.folds)
    for fold in report["folds"]:
        assert {"roc_auc", "pr_auc", "f1", "precision", "recall", "rank_ic", "icir"} <= set(fold)
        assert fold["reused"]
    assert {"rank_ic", "icir"} <= set(report["overall"]) and report["signal_quality"]["basis"] == "time-series"
