"""Shared set-up for benchmarks: the synthetic universe, timing, and result files."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from engine.data.sample import SYNTHETIC_SYMBOLS, SYNTHETIC_TIMEFRAME, sample_present, write_sample
from engine.strategies.files import load_strategy
from engine.strategies.schema import Strategy
from engine.workspace import Workspace

RESULTS = Path(__file__).resolve().parent / "results"


def workspace() -> Workspace:
    space = Workspace.from_env()
    if not sample_present(space.data):
        write_sample(space.data)
    return space


def synthetic_sma_cross() -> Strategy:
    return load_strategy("sma_cross").with_overrides(data={"symbols": list(SYNTHETIC_SYMBOLS), "timeframe": SYNTHETIC_TIMEFRAME})


def best_time(run: Callable[[], object], repeats: int = 5) -> float:
    """Best wall time of `repeats` runs, after one warm-up run (JIT compilation, caches)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def save(name: str, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        **figures,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
