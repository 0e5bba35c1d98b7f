"""The gru plugin predicts through an inference form of its network (engine.models.fused_gru): its
probabilities must be the network's own, to 1e-6, for a trained model and for any shape of network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.store import DataStore
from engine.features.dataset import sequences
from engine.models.fused_gru import FusedGRUClassifier
from engine.plugins.registry import registry_of
from engine.usecases.backtest import prepare
from engine.workspace import Workspace
from tests.model_helpers import model_strategy, write_planted


def network_probabilities(model, x: np.ndarray, assets: np.ndarray) -> np.ndarray:
    """The trained network's own forward, as training runs it."""
    with torch.inference_mode():
        return torch.sigmoid(model.network(torch.from_numpy(x), torch.from_numpy(assets))).double().numpy()


def test_a_trained_gru_predicts_what_its_network_computes(tmp_path):
    write_planted(DataStore(tmp_path / "data"))
    walk_forward = prepare(model_strategy("gru"), Workspace(tmp_path)).walk_forward
    usable = np.isfinite(walk_forward.predictions)
    features = walk_forward.features.compute(walk_forward.bars)
    for trained in walk_forward.folds:
        assert isinstance(trained.model.inference_network(), FusedGRUClassifier)
        rows, columns = np.nonzero(usable[trained.fold.predict_start : trained.fold.predict_end])
        rows = rows + trained.fold.predict_start
        x = trained.scaler.transform(sequences(features, rows, columns, walk_forward.lookback))
        assets = columns.astype(np.int64)
        expected = network_probabilities(trained.model, x, assets)
        np.testing.assert_allclose(trained.model.predict(x, assets), expected, rtol=0, atol=1e-6)
        np.testing.assert_allclose(walk_forward.predictions[rows, columns], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "hyperparameters", [{"hidden": 64}, {"hidden": 32, "layers": 2, "embedding": 8}, {"hidden": 16, "layers": 3, "embedding": 1}]
)
def test_every_shape_of_gru_network_predicts_what_it_computes(hyperparameters):
    torch.manual_seed(0)
    model = registry_of().get("model", "gru")(23, 5, 24, hyperparameters)
    model.network.eval()
    rng = np.random.default_rng(0)
    # More sequences than one inference batch, and one alone: both paths through predict.
    x = rng.normal(size=(1500, 24, 23)).astype(np.float32)
    assets = rng.integers(0, 5, 1500)
    np.testing.assert_allclose(model.predict(x, assets), network_probabilities(model, x, assets), rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.predict(x[:1], assets[:1]), network_probabilities(model, x[:1], assets[:1]), atol=1e-6)
