"""engine optimize on the daily sample: overlay-only gru93 trials per second (one worker and two,
SQLite storage as by default; such studies run in generations, engine.optimize.generations),
beside the two parts of a trial measured alone: Optuna by itself on the same storage with the same
sampler, parameters and records, one trial at a time as `Study.optimize` runs them (the peer, also
with one process and two), and the engine's validation backtest with cached predictions; and that
backtest when the model must be retrained instead. And two workers on one machine training models at once (trials
that tune the model): with the cores split between their torch threads, as `--workers` does,
against the peer, torch's default of a thread per core in each."""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import optuna

from benchmarks.common import workspace
from engine.optimize.evaluation import Split, evaluate
from engine.optimize.space import apply_parameters, read_space_file
from engine.optimize.storage import open_storage
from engine.optimize.study import StudySettings, run_study, sharing_cores
from engine.signals.cache import PredictionCache
from engine.strategies.files import load_strategy
from engine.workspace import Workspace

SPACE = Path(__file__).resolve().parent.parent / "configs" / "search" / "gru93-overlays.toml"
WARM_UP = 5
# Enough that a second worker's start-up (imports, ~5 s) is a small part of ours. The peer runs
# fewer: its trials slow as the study grows (each reads the study's trials), so fewer favour it.
TRIALS, PEER_TRIALS = 2000, 300
GOAL_TRIALS_PER_SECOND = 200  # overlay-only trials, one worker


def _trials_per_second(home: Path, study: str, workers: int) -> float:
    settings = StudySettings(strategy="gru93", trials=WARM_UP, home=str(home), space_file=str(SPACE), study=study, seed=0)
    run_study(settings)  # creates the study; the first trial fills the prediction cache
    settings = replace(settings, trials=WARM_UP + TRIALS, workers=workers)
    start = time.perf_counter()
    run_study(settings)
    return TRIALS / (time.perf_counter() - start)


def _optuna_alone_objective(space, trial: optuna.Trial) -> tuple[float, float]:
    """A trial that suggests the same parameters and records as much as ours but evaluates nothing."""
    parameters = {path: trial.suggest_float(path, float(r.low), float(r.high)) for path, r in space.space.items()}
    trial.set_user_attr("parameters", parameters)
    trial.set_user_attr("evaluation", {"metrics": {}})
    trial.set_constraint("min_trades", -1.0)
    return 0.0, 0.0


def _optuna_alone_worker(url: str, trials: int) -> None:
    study = optuna.load_study(study_name="peer", storage=open_storage(url, heartbeat=10), sampler=optuna.samplers.NSGAIISampler())
    study.optimize(partial(_optuna_alone_objective, read_space_file(SPACE)), n_trials=trials)


def _optuna_alone_trials_per_second(home: Path, workers: int) -> float:
    """The peer: Optuna by itself on one SQLite study, this process and `workers` - 1 spawned ones,
    as `--workers` runs them."""
    url = f"sqlite:///{home / f'peer-{workers}.sqlite3'}"
    optuna.create_study(study_name="peer", storage=open_storage(url, heartbeat=10), directions=["maximize", "minimize"])
    _optuna_alone_worker(url, WARM_UP)
    spawn = multiprocessing.get_context("spawn")
    others = [spawn.Process(target=_optuna_alone_worker, args=(url, PEER_TRIALS // workers)) for _ in range(workers - 1)]
    start = time.perf_counter()
    for process in others:
        process.start()
    _optuna_alone_worker(url, PEER_TRIALS // workers)
    for process in others:
        process.join()
    return PEER_TRIALS / (time.perf_counter() - start)


def _train_afresh(data: str, folder: str, sharing: int) -> None:
    """One gru93 validation backtest that trains its model anew, in a process of `sharing` splitting
    the cores as `--workers` does (1: torch's default threads)."""
    home = Path(folder)
    home.mkdir()
    (home / "data").symlink_to(data, target_is_directory=True)
    strategy = load_strategy("gru93")
    with sharing_cores(sharing):
        evaluate(Split.of(strategy, Workspace(home)).validation(strategy), Workspace(home))


def _two_trainings_seconds(folder: Path, data: Path, sharing: int) -> float:
    spawn = multiprocessing.get_context("spawn")
    trainings = [
        spawn.Process(target=_train_afresh, args=(str(data), str(folder / f"{sharing}-{index}"), sharing)) for index in range(2)
    ]
    start = time.perf_counter()
    for training in trainings:
        training.start()
    for training in trainings:
        training.join()
    return time.perf_counter() - start


def measure() -> dict:
    sample = workspace()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "data").symlink_to(sample.data.root.resolve(), target_is_directory=True)
        optuna_alone = {workers: _optuna_alone_trials_per_second(home, workers) for workers in (1, 2)}
        one_worker = _trials_per_second(home, "bench-1", workers=1)
        two_workers = _trials_per_second(home, "bench-2", workers=2)

        # One overlay-only trial's validation backtest: cached predictions against a fresh model.
        strategy = load_strategy("gru93")
        candidate = Split.of(strategy, Workspace(home)).validation(
            apply_parameters(strategy, {"overlays.threshold.entry": 0.5, "overlays.threshold.exit": 0.4})
        )
        cache = PredictionCache(home / "models" / "predictions")
        start = time.perf_counter()
        for _ in range(20):
            evaluate(candidate, Workspace(home), cache)
        cached = (time.perf_counter() - start) / 20
        fresh = Workspace(home / "retrain")
        (fresh.root / "data").parent.mkdir(parents=True)
        (fresh.root / "data").symlink_to(sample.data.root.resolve(), target_is_directory=True)
        start = time.perf_counter()
        evaluate(candidate, fresh)
        retrained = time.perf_counter() - start
        data = sample.data.root.resolve()
        shared, default_threads = _two_trainings_seconds(home, data, 2), _two_trainings_seconds(home, data, 1)
    return {
        "trials": TRIALS,
        "peer_trials": PEER_TRIALS,
        "overlay_only_trials_per_second_one_worker": one_worker,
        "overlay_only_trials_per_second_two_workers": two_workers,
        "optuna_alone_trials_per_second_one_worker": optuna_alone[1],
        "optuna_alone_trials_per_second_two_workers": optuna_alone[2],
        "validation_backtest_with_cached_predictions_seconds": cached,
        "validation_backtest_retraining_the_model_seconds": retrained,
        "prediction_cache_speed_up": retrained / cached,
        "two_workers_training_at_once_seconds_cores_shared": shared,
        "two_workers_training_at_once_seconds_default_threads": default_threads,
        "sharing_cores_speed_up": default_threads / shared,
        "goal_trials_per_second_at_least": GOAL_TRIALS_PER_SECOND,
        "meets_goal": one_worker >= GOAL_TRIALS_PER_SECOND,
    }
