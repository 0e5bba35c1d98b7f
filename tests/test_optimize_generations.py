"""Overlay-only studies in generations (engine.optimize.generations): the same trials and values as
Optuna's one-at-a-time study, each generation written whole or not at all (SIGKILL while a worker
evaluates one, and while it commits one), Ctrl-C, resume, and several workers on SQLite and
PostgreSQL that stop at the study's target exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
from helpers import wait_for
from postgres import postgres_server
from studies import frozen_tally, kill_when, load, start, states, storage_of
from test_cli import engine

from engine.optimize.evaluation import evaluate
from engine.optimize.generations import GENERATION_TRIALS
from engine.optimize.space import apply_parameters
from engine.optimize.storage import open_storage
from engine.optimize.study import Interruption, StudySettings, TrialObjective, open_study, run_study
from engine.optimize.trial_batches import write_trials
from engine.signals.cache import PredictionCache

SPACE = "configs/search/gru93-overlays.toml"
OVERLAYS = ("-s", "gru93", "--space", SPACE)


def _numbers_run_on(study: optuna.Study) -> bool:
    return sorted(trial.number for trial in study.trials) == list(range(len(study.trials)))


def test_generations_give_the_trials_and_values_of_a_study_run_one_trial_at_a_time(sample_home):
    """More than a generation, so that the second breeds from the first. The one-at-a-time study is
    Optuna's own `Study.optimize` on the storage; the values are each parameter set's plain
    validation backtest (`evaluate`), with nothing prepared or memoized in advance."""
    trials = GENERATION_TRIALS + 12
    settings = StudySettings(strategy="gru93", trials=trials, home=str(sample_home), space_file=SPACE, seed=4)
    batched = run_study(replace(settings, study="in-generations")).study
    one_at_a_time = open_study(replace(settings, study="one-at-a-time"))
    objective = TrialObjective(one_at_a_time, one_at_a_time.workspace, Interruption(one_at_a_time.study))
    one_at_a_time.study.optimize(objective, n_trials=trials)

    assert states(batched) == {"COMPLETE": trials} and _numbers_run_on(batched)
    predictions = PredictionCache.in_store(one_at_a_time.workspace.models)
    for ours, theirs in zip(batched.trials, one_at_a_time.study.trials, strict=True):
        assert ours.params == theirs.params and ours.distributions == theirs.distributions
        assert ours.values == theirs.values and ours.system_attrs == theirs.system_attrs
        assert ours.user_attrs["evaluation"] == theirs.user_attrs["evaluation"]
        strategy = one_at_a_time.split.validation(
            apply_parameters(one_at_a_time.strategy, ours.user_attrs["parameters"], one_at_a_time.workspace)
        )
        plain = evaluate(strategy, one_at_a_time.workspace, predictions)
        assert ours.values == [plain.metrics["sharpe"] or 0.0, abs(plain.metrics["max_drawdown"])]
        assert ours.user_attrs["evaluation"]["skewness"] == plain.returns_skewness
        assert ours.user_attrs["evaluation"]["kurtosis"] == plain.returns_kurtosis


def _trial(number: int, state=optuna.trial.TrialState.COMPLETE) -> optuna.trial.FrozenTrial:
    started = datetime(2026, 11, 2, 9, 30) + timedelta(seconds=number)
    return optuna.trial.FrozenTrial(
        number=number,
        state=state,
        value=None,
        values=[0.1 * number, 0.05] if state == optuna.trial.TrialState.COMPLETE else None,
        datetime_start=started,
        datetime_complete=started + timedelta(milliseconds=5),
        params={"x": 0.25 * number},
        distributions={"x": optuna.distributions.FloatDistribution(0.0, 10.0)},
        user_attrs={"parameters": {"x": 0.25 * number}, "worker": "here:1"},
        system_attrs={"constraints": [-1.0]},
        intermediate_values={},
        trial_id=number,
    )


def test_a_generation_is_written_as_optuna_records_trials_and_never_past_the_target(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'studies.sqlite3'}", heartbeat=10)
    study = optuna.create_study(study_name="written", storage=storage, directions=["maximize", "minimize"])
    generation = [_trial(0), _trial(1, optuna.trial.TrialState.FAIL), _trial(2), _trial(3), _trial(4)]
    written = write_trials(study, generation, target=3)
    # Failed trials do not count toward a target: two finished ones and a failed one between, then the third.
    assert len(written) == 4
    stored = optuna.load_study(study_name="written", storage=storage).trials
    for kept, template in zip(stored, generation, strict=False):
        assert (kept.number, kept.state, kept.values, kept.params) == (
            template.number,
            template.state,
            template.values,
            template.params,
        )
        assert (kept.user_attrs, kept.system_attrs, kept.distributions) == (
            template.user_attrs,
            template.system_attrs,
            template.distributions,
        )
        assert (kept.datetime_start, kept.datetime_complete) == (template.datetime_start, template.datetime_complete)
    assert write_trials(study, [_trial(5)], target=3) == []  # the target is reached: nothing more is written
    assert len(optuna.load_study(study_name="written", storage=storage).trials) == 4


def test_a_worker_killed_while_committing_a_generation_leaves_none_of_it(tmp_path):
    """SIGKILL in the moment every row of the generation is in the database's transaction, before
    its commit: the study keeps what it had, and the next write numbers its trials on from there."""
    url = f"sqlite:///{tmp_path / 'studies.sqlite3'}"
    study = optuna.create_study(study_name="cut", storage=open_storage(url, heartbeat=10), directions=["maximize", "minimize"])
    write_trials(study, [_trial(0), _trial(1)], target=100)
    writer = textwrap.dedent(
        f"""
        import os, signal, optuna, sqlalchemy.orm
        from test_optimize_generations import _trial
        from engine.optimize.storage import open_storage
        from engine.optimize.trial_batches import write_trials
        study = optuna.load_study(study_name="cut", storage=open_storage({url!r}, heartbeat=10))
        sqlalchemy.event.listen(sqlalchemy.orm.Session, "before_commit", lambda session: os.kill(os.getpid(), signal.SIGKILL))
        write_trials(study, [_trial(number) for number in range(2, 40)], target=100)
        """
    )
    killed = subprocess.run([sys.executable, "-c", writer], cwd=str(tmp_path), env=_importable(), capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after = optuna.load_study(study_name="cut", storage=open_storage(url, heartbeat=10))
    assert [trial.number for trial in after.trials] == [0, 1]
    write_trials(after, [_trial(2)], target=100)
    assert [trial.number for trial in optuna.load_study(study_name="cut", storage=open_storage(url, heartbeat=10)).trials] == [
        0,
        1,
        2,
    ]


def _importable() -> dict:
    """The environment in which a child Python imports the engine and these tests' modules."""
    tests = Path(__file__).resolve().parent
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests), os.environ.get("PYTHONPATH", "")])}


def test_a_worker_killed_mid_generation_leaves_whole_generations_and_a_resume_runs_the_rest(sample_home):
    process = start(sample_home, *OVERLAYS, "--study", "killed-generation", "--trials", "5000", "--seed", "2")
    # Frozen, then read again: the kill leaves what was read, written generations and nothing running.
    kill_when(process, lambda: frozen_tally(sample_home, "killed-generation")["COMPLETE"] >= GENERATION_TRIALS, timeout=300)
    study = load(sample_home, "killed-generation")
    written = len(study.trials)
    assert states(study) == {"COMPLETE": written} and written % GENERATION_TRIALS == 0 and _numbers_run_on(study)
    engine(sample_home, "optimize", *OVERLAYS, "--study", "killed-generation", "--trials", str(written + 7), "--seed", "2")
    resumed = load(sample_home, "killed-generation")
    assert states(resumed) == {"COMPLETE": written + 7} and _numbers_run_on(resumed)


def test_ctrl_c_writes_the_generation_so_far_and_exits_130(sample_home):
    process = start(sample_home, *OVERLAYS, "--study", "interrupted-generation", "--trials", "5000")
    wait_for(lambda: frozen_tally(sample_home, "interrupted-generation")["COMPLETE"] >= GENERATION_TRIALS, timeout=300)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Pareto front" in out
    study = load(sample_home, "interrupted-generation")
    done = states(study)["COMPLETE"]
    assert set(states(study)) == {"COMPLETE"} and _numbers_run_on(study)
    engine(sample_home, "optimize", *OVERLAYS, "--study", "interrupted-generation", "--trials", str(done + 3))
    assert states(load(sample_home, "interrupted-generation")) == {"COMPLETE": done + 3}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_workers_share_a_study_in_generations_and_stop_at_its_target(sample_home, database):
    """This process writes part of a study, then two commands at once take it on, as on two machines
    (on SQLite each with two workers, whose spawned one may start after the work is done). Each
    writes whole generations, and the last ones are cut where the study reaches its target. Which
    of the two at once gets to write is a race (one may finish before the other has started), so
    that a study is shared is shown by the first part's trials and theirs."""
    first = GENERATION_TRIALS + 5  # a cut generation for the two to resume from
    target = 3 * GENERATION_TRIALS + 10  # more generations than either command runs alone, and a cut last one
    name = f"shared-generations-{database}"
    with postgres_server() if database == "postgresql" else nullcontext(storage_of(sample_home)) as url:
        storage = None if database == "sqlite" else url
        part = StudySettings(strategy="gru93", trials=first, home=str(sample_home), space_file=SPACE, storage=storage, study=name)
        run_study(part)
        where = ("--workers", "2") if storage is None else ("--storage", url)
        for process in [start(sample_home, *OVERLAYS, "--study", name, "--trials", str(target), *where) for _ in range(2)]:
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, err
        study = optuna.load_study(study_name=name, storage=open_storage(url, heartbeat=10))
        assert states(study) == {"COMPLETE": target} and _numbers_run_on(study)
        writers = [trial.user_attrs["worker"] for trial in sorted(study.trials, key=lambda trial: trial.number)]
        assert len(set(writers[:first])) == 1 and set(writers[first:]) - set(writers[:first])
