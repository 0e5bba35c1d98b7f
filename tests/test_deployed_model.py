"""A model strategy keeps predicting past the end of its walk-forward history, retrains on its
schedule, and stays chunk-invariant while doing so."""

from __future__ import annotations

import numpy as np
import pytest

from engine.signals.model import ModelProbability
from engine.usecases.backtest import load_bars, prepare
from engine.workspace import Workspace
from tests.model_helpers import model_strategy, write_planted

HISTORY = 1200  # bars the walk-forward trains and predicts on; the planted market has 1600


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    workspace = Workspace(tmp_path_factory.mktemp("deployed"))
    write_planted(workspace.data)
    everything = load_bars(model_strategy("mlp"), workspace.data)
    end = str(everything.index()[HISTORY - 1].date())
    prepared = prepare(model_strategy("mlp").with_overrides(data={"end": end}), workspace)
    return prepared.walk_forward, everything, workspace


def run_stage(walk_forward, bars, chunk):
    stage = ModelProbability(walk_forward)
    outputs = [stage.on_chunk(part) for part in bars.chunks(chunk)]
    return np.concatenate(outputs), stage


def test_the_model_predicts_past_its_history_and_retrains_on_schedule(deployed):
    walk_forward, everything, _ = deployed
    assert len(walk_forward.bars) == HISTORY
    probabilities, stage = run_stage(walk_forward, everything, None)
    last = walk_forward.folds[-1].fold
    assert last.predict_end == HISTORY  # the history ends inside the last block
    beyond = probabilities[HISTORY:]
    assert (beyond > 0).all() and (beyond < 1).all()  # every new bar gets a probability, not 0
    # predict_bars after the last block's start, a new fold takes over, trained on what came before
    schedule = walk_forward.setup.signal.walk_forward.predict_bars
    retrained = stage.folds[len(walk_forward.folds) :]
    assert [trained.fold.predict_start for trained in retrained] == [last.predict_start + schedule]
    new = retrained[0].fold
    assert new.train_end == new.predict_start - walk_forward.setup.signal.purge_bars
    assert new.train_end - new.train_start == walk_forward.setup.signal.walk_forward.train_bars
    # bars before the switch are predicted by the last history fold, as without retraining
    np.testing.assert_allclose(probabilities[:HISTORY], run_stage(walk_forward, walk_forward.bars, None)[0], atol=1e-6)


@pytest.mark.parametrize("chunk", [1, 7])
def test_deployed_predictions_are_chunk_invariant(deployed, chunk):
    walk_forward, everything, _ = deployed
    whole, _ = run_stage(walk_forward, everything, None)
    chunked, stage = run_stage(walk_forward, everything, chunk)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=ModelProbability.tolerance)
    assert stage.folds[-1].reused  # the fold retrained at this chunk size is the one already stored: same data, same key


def test_the_retrained_fold_is_stored_with_the_data_it_saw(deployed):
    walk_forward, everything, workspace = deployed
    _, stage = run_stage(walk_forward, everything, None)
    key = stage.folds[-1].key
    stored = workspace.models.read_meta(key)
    assert stored["fold"]["predict_start"] == stage.folds[-1].fold.predict_start
    assert stored["data_fingerprint"] == everything.slice(0, stage.folds[-1].fold.predict_start).fingerprint()
