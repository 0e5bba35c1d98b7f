"""Built-in models through the real pipeline: features, walk-forward training, the model store."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from engine.data.store import DataStore
from engine.features.dataset import FeatureSet
from engine.features.technical import CalendarFeatures, TechnicalFeatures
from engine.models import walkforward
from engine.models.walkforward import plan_folds, train_walk_forward
from engine.plugins.registry import registry_of
from engine.strategies.resolution import resolve_strategy
from engine.usecases.backtest import prepare, run_backtest
from engine.workspace import Workspace
from tests.model_helpers import model_strategy, planted_frames, write_planted

BUILT_IN_MODELS = ["gru", "lstm", "mlp", "cnn_lstm"]


@pytest.fixture(scope="module")
def planted_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("planted")
    write_planted(DataStore(home / "data"))
    return Workspace(home)


def out_of_sample_auc(walk_forward, labels) -> float:
    mask = np.isfinite(walk_forward.predictions) & np.isfinite(labels)
    return roc_auc_score(labels[mask], walk_forward.predictions[mask])


def test_all_four_models_are_registered_as_plugins():
    plugins = registry_of()
    assert set(BUILT_IN_MODELS) <= set(plugins.names("model"))
    assert {entry.origin for entry in plugins.entries if entry.name in BUILT_IN_MODELS} == {"built-in"}


@pytest.mark.parametrize("plugin", BUILT_IN_MODELS)
def test_each_model_finds_a_planted_signal_and_not_a_shuffled_one(planted_home, plugin, monkeypatch):
    strategy = model_strategy(plugin)
    prepared = prepare(strategy, planted_home)
    true_labels = prepared.walk_forward.labels
    assert out_of_sample_auc(prepared.walk_forward, true_labels) > 0.55

    real_labels = walkforward.forward_return_labels

    def shuffled_labels(close, horizon, threshold):
        labels = real_labels(close, horizon, threshold)
        rng = np.random.default_rng(0)
        known = np.isfinite(labels[:, 0])
        labels[known] = labels[known][rng.permutation(known.sum())]
        return labels

    monkeypatch.setattr(walkforward, "forward_return_labels", shuffled_labels)
    setup = resolve_strategy(strategy).model
    shuffled = train_walk_forward(setup, prepared.bars, Workspace(planted_home.root / "shuffled").models)
    assert out_of_sample_auc(shuffled, true_labels) < 0.55


def test_no_bar_is_predicted_by_a_model_that_saw_it(planted_home):
    strategy = model_strategy("mlp")
    signal = strategy.signal
    for fold in plan_folds(1600, 40, signal):
        last_label_bar = fold.train_end - 1 + signal.labels.horizon
        assert last_label_bar < fold.predict_start
        assert fold.predict_start - fold.train_end >= signal.labels.horizon
    prepared = prepare(strategy, planted_home)
    first = prepared.walk_forward.first_prediction_row
    assert np.isnan(prepared.walk_forward.predictions[:first]).all()
    assert prepared.trade_from == first


def test_features_are_causal():
    from engine.kernel.bars import Bars

    frames = planted_frames(n_bars=700)
    features = FeatureSet([TechnicalFeatures(), CalendarFeatures()])
    bars = Bars(
        frames["AAA"]["timestamp"].dt.tz_localize(None).to_numpy(), ("AAA",),
        *(frames["AAA"][field].to_numpy()[:, None] for field in ("open", "high", "low", "close", "volume")),
    )  # fmt: skip
    full = features.compute(bars)
    for t in (100, 400, 699):
        cut = features.compute(bars.slice(0, t + 1))
        np.testing.assert_allclose(cut[t], full[t], rtol=1e-9, equal_nan=True)
    assert len(features.columns) == 23


def test_training_is_deterministic(planted_home, tmp_path):
    strategy = model_strategy("gru")
    setup = resolve_strategy(strategy).model
    bars = prepare(strategy, planted_home).bars
    first = train_walk_forward(setup, bars, Workspace(tmp_path / "a").models)
    second = train_walk_forward(setup, bars, Workspace(tmp_path / "b").models)
    np.testing.assert_array_equal(first.predictions, second.predictions)


def test_model_store_reuses_only_what_matches(tmp_path):
    workspace = Workspace(tmp_path)
    write_planted(workspace.data)
    strategy = model_strategy("mlp")
    first = prepare(strategy, workspace).walk_forward
    assert not any(trained.reused for trained in first.folds)
    again = prepare(strategy, workspace).walk_forward
    assert all(trained.reused for trained in again.folds)
    np.testing.assert_array_equal(again.predictions, first.predictions)

    changed_config = prepare(model_strategy("mlp", hidden=64), workspace).walk_forward
    assert not any(trained.reused for trained in changed_config.folds)

    def change_prices_from(row: int) -> None:
        frame = planted_frames()["AAA"]
        frame.loc[row:, ["open", "high", "low", "close"]] *= 1.01
        workspace.data.write(frame, "AAA", "1d", origin="synthetic: changed", source="test")

    folds = [trained.fold for trained in first.folds]
    # Bars after a fold's training window are not in its fingerprint: changing them retrains nothing.
    change_prices_from(folds[-1].predict_start + 10)
    assert all(trained.reused for trained in prepare(strategy, workspace).walk_forward.folds)
    # A change the second fold trained on retrains it and every later fold, not the first.
    change_prices_from(folds[1].predict_start - 10)
    reused = [trained.reused for trained in prepare(strategy, workspace).walk_forward.folds]
    assert reused == [True] + [False] * (len(folds) - 1)


def test_model_strategy_backtests_out_of_sample_beside_baselines(planted_home):
    result = run_backtest(model_strategy("mlp"), planted_home)
    assert set(result.baselines) == {"buy & hold", "sma_cross"}
    prepared = result.prepared  # in one chunk the predictions come from the prediction cache
    first = prepared.predictions.first_prediction_row
    assert result.metrics["start"] == str(prepared.bars.index()[first])
    assert result.metrics["bars"] == len(result.prepared.bars) - first
    assert all(baseline["bars"] == result.metrics["bars"] for baseline in result.baselines.values())
    assert len(result.fold_metrics()) == len(walkforward.planned_fold_keys(prepared.resolved.model, prepared.bars))
    # The model found the planted persistence: its probabilities rank the forward returns they were trained on.
    assert result.metrics["rank_ic"] > 0.2 and result.signal_quality.basis == "time-series"
