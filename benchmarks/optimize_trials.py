"""engine optimize on the daily sample: overlay-only gru93 trials per second (one worker and two,
SQLite storage as by default), beside the engine's own share of a trial (the validation backtest
alone) and a trial that must retrain the model instead of replaying cached predictions."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import workspace
from engine.optimize.evaluation import Split, evaluate
from engine.optimize.space import apply_parameters
from engine.optimize.study import StudySettings, run_study
from engine.signals.cache import PredictionCache
from engine.strategy import load_strategy
from engine.workspace import Workspace

SPACE = Path(__file__).resolve().parent.parent / "configs" / "search" / "gru93-overlays.toml"
WARM_UP, TRIALS = 5, 150
GOAL_TRIALS_PER_SECOND = 20


def _trials_per_second(home: Path, study: str, workers: int) -> float:
    settings = StudySettings(strategy="gru93", trials=WARM_UP, space_file=str(SPACE), study=study, seed=0, home=str(home))
    run_study(settings)  # creates the study; the first trial fills the prediction cache
    settings = StudySettings(**{**settings.__dict__, "trials": WARM_UP + TRIALS, "workers": workers})
    start = time.perf_counter()
    run_study(settings)
    return TRIALS / (time.perf_counter() - start)


def measure() -> dict:
    sample = workspace()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "data").symlink_to(sample.data.root.resolve(), target_is_directory=True)
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
    return {
        "trials": TRIALS,
        "overlay_only_trials_per_second_one_worker": one_worker,
        "overlay_only_trials_per_second_two_workers": two_workers,
        "validation_backtest_with_cached_predictions_seconds": cached,
        "validation_backtest_retraining_the_model_seconds": retrained,
        "prediction_cache_speed_up": retrained / cached,
        "goal_trials_per_second_at_least": GOAL_TRIALS_PER_SECOND,
        "meets_goal": two_workers >= GOAL_TRIALS_PER_SECOND,
    }
