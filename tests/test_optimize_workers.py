"""engine optimize with many worker processes on one study (SQLite and PostgreSQL), and stopped:
Ctrl-C, twice, and SIGKILL; a fresh storage opened by several processes at once."""

from __future__ import annotations

import json
import signal
import threading
import time

import optuna
import pytest
from helpers import wait_for
from postgres import postgres_server
from studies import frozen_tally, kill_when, load, start, states, trials_in, trials_of
from test_cli import engine

from engine.optimize.storage import open_storage
from engine.optimize.study import StudySettings, fail_stale_trials, run_study, unclaimed_for


def test_workers_on_postgresql_record_every_trial_once(sample_home):
    with postgres_server() as url:
        # This process writes part of a study, then two `engine optimize` processes at once take it on,
        # as on two machines. Which workers get trials at once is a race (an sma_cross trial takes a few
        # tens of milliseconds, a start seconds), so the part written first shows it shared.
        first = 20
        run_study(StudySettings(strategy="sma_cross", trials=first, home=str(sample_home), storage=url, study="shared"))
        command = ("-s", "sma_cross", "--storage", url, "--study", "shared")
        for process in [start(sample_home, *command, "--trials", "60", *workers) for workers in (("--workers", "2"), ())]:
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, err
        study = optuna.load_study(study_name="shared", storage=url)
        trials = sorted(study.get_trials(), key=lambda trial: trial.number)
        assert states(study) == {"COMPLETE": len(trials)} and 60 <= len(trials) <= 62
        assert [trial.number for trial in trials] == list(range(len(trials)))
        workers = [trial.user_attrs["worker"] for trial in trials]
        assert set(workers[first:]) - set(workers[:first])


def test_ctrl_c_lets_the_running_trial_finish_prints_the_best_and_exits_130(sample_home):
    process = start(sample_home, "-s", "sma_cross", "--study", "interrupted", "--trials", "100000", "--sampler", "random")
    wait_for(lambda: len(trials_in(sample_home, "interrupted", optuna.trial.TrialState.COMPLETE)) >= 3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Pareto front" in out
    journaled = json.loads(engine(sample_home, "runs", "list", "--json").stdout)
    assert [run["status"] for run in journaled if run["kind"] == "study"][-1] == "interrupted"
    study = load(sample_home, "interrupted")
    counted = states(study)
    # sma_cross trials only backtest: the one running when Ctrl-C came was finished and stored.
    assert set(counted) == {"COMPLETE"} and counted["COMPLETE"] >= 3
    done = counted["COMPLETE"]
    engine(sample_home, "optimize", "-s", "sma_cross", "--study", "interrupted", "--trials", str(done + 2), "--sampler", "random")
    assert states(load(sample_home, "interrupted"))["COMPLETE"] == done + 2


RUNNING = optuna.trial.TrialState.RUNNING


def test_ctrl_c_fails_a_training_trial_after_its_fold_and_twice_at_once(sample_home):
    """gru93 trials with the model in the space train eight walk-forward folds (about a second each)."""
    for interrupts in (1, 2):
        process = start(sample_home, "-s", "gru93", "--study", "training", "--trials", "50", "--objectives", "sharpe")
        wait_for(lambda: any(trial.intermediate_values for trial in trials_of(sample_home, "training", RUNNING)))
        for _ in range(interrupts):
            process.send_signal(signal.SIGINT)
            time.sleep(0.2)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 130, err
        failed = load(sample_home, "training").get_trials(states=(optuna.trial.TrialState.FAIL,))
        assert len(failed) == interrupts and "RUNNING" not in states(load(sample_home, "training"))
        # Stopped inside its walk-forward: a fold's out-of-sample ROC-AUC recorded, not all eight.
        assert 1 <= len(failed[-1].intermediate_values) < 8


HEARTBEAT = 1
ONE_OBJECTIVE = ("--objectives", "sortino", "--sampler", "tpe", "--heartbeat", str(HEARTBEAT))


def test_a_killed_worker_loses_only_its_running_trial(sample_home):
    process = start(sample_home, "-s", "sma_cross", "--study", "killed", "--trials", "100000", *ONE_OBJECTIVE)
    wait_for(lambda: len(trials_in(sample_home, "killed", optuna.trial.TrialState.COMPLETE)) >= 2)
    kill_when(process, lambda: frozen_tally(sample_home, "killed")["RUNNING"] >= 1)  # while a trial runs
    orphans = trials_in(sample_home, "killed", optuna.trial.TrialState.RUNNING)
    assert len(orphans) == 1
    # Its worker may have died before claiming it or sending a heartbeat: it is failed once three
    # heartbeats (a second each) have passed since it started, as the trial's own clock tells.
    orphan = load(sample_home, "killed").trials[orphans[0]]
    wait_for(lambda: unclaimed_for(orphan) > 3 * HEARTBEAT)
    done = len(trials_in(sample_home, "killed", optuna.trial.TrialState.COMPLETE))
    engine(sample_home, "optimize", "-s", "sma_cross", "--study", "killed", "--trials", str(done + 1), *ONE_OBJECTIVE)
    study = load(sample_home, "killed")
    assert study.trials[orphans[0]].state == optuna.trial.TrialState.FAIL
    assert "RUNNING" not in states(study) and states(study)["COMPLETE"] == done + 1


def test_openers_of_a_fresh_storage_at_once_all_open_it(tmp_path):
    """Workers started together, or the TUI reading while a first study is created (here threads,
    each on its own connection, as processes are): Optuna checks for each table and then creates it,
    so unretried the slower openers failed ("table studies already exists", "database is locked"),
    about every time with six openers."""
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'studies-{attempt}.sqlite3'}"
        together, failures = threading.Barrier(6), []

        def open_it(url: str = url, together: threading.Barrier = together, failures: list = failures) -> None:
            together.wait()
            try:
                optuna.create_study(storage=open_storage(url, heartbeat=10))
            except Exception as error:  # noqa: BLE001 (what the test reports)
                failures.append(str(error))

        openers = [threading.Thread(target=open_it) for _ in range(6)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
        assert failures == []
        assert len(optuna.get_all_study_summaries(open_storage(url, heartbeat=10))) == 6


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")  # ask() is the point
def test_a_trial_no_worker_claimed_is_failed_after_three_heartbeats(tmp_path):
    """A worker killed between Optuna's start of a trial and its first heartbeat leaves a trial Optuna
    never finds stale: it is failed once three heartbeats have passed with no worker in it."""
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / 'orphan.sqlite3'}", HEARTBEAT))
    orphan = study.ask()  # running, no heartbeat, no worker
    fail_stale_trials(study, HEARTBEAT)
    assert study.trials[orphan.number].state == RUNNING  # too young to tell from a worker about to claim it
    wait_for(lambda: unclaimed_for(study.trials[orphan.number]) > 3 * HEARTBEAT)
    fail_stale_trials(study, HEARTBEAT)
    assert study.trials[orphan.number].state == optuna.trial.TrialState.FAIL
