"""Start-up: the wall time of `engine backtest` as a user runs it, a fresh process each time
(imports, the backtest, the run store, the report), for a rule strategy (sma_cross) and for gru93
with its walk-forward folds already trained, beside `python -c "import vectorbt"`: the floor of any
command that backtests. The three commands take turns, so a busy machine slows them alike."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import workspace

COMMANDS = {
    "import_vectorbt": ["-c", "import vectorbt"],
    "sma_cross": ["-m", "engine", "backtest", "--strategy", "sma_cross"],
    "gru93_cached": ["-m", "engine", "backtest", "--strategy", "gru93"],
}
GOALS = {"sma_cross": 2.0, "gru93_cached": 3.0}  # at most this many times import_vectorbt
REPEATS = 5


def _wall_time(arguments: list[str], home: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *arguments], cwd=home, env={**os.environ, "ENGINE_HOME": str(home)}, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def measure() -> dict:
    sample = workspace()
    sample.models.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        # Runs go to a scratch workspace; data and trained folds are the sample workspace's.
        home = Path(folder)
        (home / "data").symlink_to(sample.data.root.resolve(), target_is_directory=True)
        (home / "models").symlink_to(sample.models.root.resolve(), target_is_directory=True)
        for arguments in COMMANDS.values():  # untimed: trains gru93's folds if they are missing
            _wall_time(arguments, home)
        times = {name: [] for name in COMMANDS}
        for _ in range(REPEATS):
            for name, arguments in COMMANDS.items():
                times[name].append(_wall_time(arguments, home))
    best = {name: min(values) for name, values in times.items()}
    ratios = {name: best[name] / best["import_vectorbt"] for name in GOALS}
    return {
        "repeats": REPEATS,
        **{f"{name}_seconds": seconds for name, seconds in best.items()},
        **{f"{name}_over_import_vectorbt": ratio for name, ratio in ratios.items()},
        **{f"goal_{name}_over_import_vectorbt_at_most": goal for name, goal in GOALS.items()},
        "meets_goal": all(ratios[name] <= goal for name, goal in GOALS.items()),
    }
