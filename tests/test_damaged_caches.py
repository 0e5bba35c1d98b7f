"""The model store and the prediction cache are caches: a damaged entry (a fold's meta.json or
scaler.json, a cached prediction file) is computed again and stored over, with the same result,
never a traceback."""

from __future__ import annotations

import json

import numpy as np

from engine.data.store import DataStore
from engine.usecases.backtest import run_backtest
from engine.workspace import Workspace
from tests.model_helpers import model_strategy, write_planted


def test_damaged_folds_and_predictions_are_computed_again_with_the_same_result(tmp_path):
    workspace = Workspace(tmp_path)
    write_planted(DataStore(tmp_path / "data"), n_bars=1150)
    strategy = model_strategy("mlp", epochs=3, patience=2)
    first = run_backtest(strategy, workspace).run.execution.equity
    (fold,) = [path for path in workspace.models.root.iterdir() if (path / "meta.json").exists()]
    (fold / "meta.json").write_text("{garbage")
    (fold / "scaler.json").write_text("")
    for cached in (workspace.models.root / "predictions").iterdir():
        cached.write_bytes(cached.read_bytes()[:10])
    again = run_backtest(strategy, workspace).run.execution.equity
    np.testing.assert_array_equal(again, first)
    assert "metrics" in json.loads((fold / "meta.json").read_text())
    assert {"mean", "scale"} <= json.loads((fold / "scaler.json").read_text()).keys()
