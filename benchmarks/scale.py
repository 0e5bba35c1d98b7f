"""Memory at scale: sma_cross over a 2,000-symbol hourly universe, as `engine backtest` runs it.

A seeded random-walk universe (1,304 weekdays of seven hourly bars: 9,128 bars a symbol) is written
as multi-symbol Parquet files and imported through `engine data import`'s function, then a fresh
process backtests sma_cross over every symbol through `journaled_backtest` (load, pipeline,
buy-and-hold baseline, metrics, run store, report). Its peak RSS (the kernel's high-water mark,
`ru_maxrss`) is reported whole, and less the process's RSS just before the backtest (interpreter and
every import the run needs): the backtest's own bytes per symbol-bar, beside the raw OHLCV's 40.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.importer import import_bars
from engine.kernel.bars import FIELDS
from engine.workspace import Workspace

SYMBOLS = 2000
WEEKDAYS = 1304  # about five years
HOURS = [pd.Timedelta(hours=14, minutes=30) + pd.Timedelta(hours=h) for h in range(7)]  # 14:30 ... 20:30 UTC
SYMBOLS_PER_FILE = 100
SEED = 20260126
GOAL_BYTES_PER_SYMBOL_BAR = 100

CHILD = r"""
import json, resource, sys
from pathlib import Path
from engine.strategies.resolution import strategy_with_overrides
from engine.usecases.backtest_run import journaled_backtest
from engine.workspace import Workspace
import engine.report.tearsheet  # imported by the run only at its end: part of the baseline, not of the backtest

def rss() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))

workspace = Workspace(Path(sys.argv[1]))
symbols = sys.argv[2].split(",")
resolved = strategy_with_overrides("sma_cross", workspace, symbols=symbols, timeframe="1h")
before = rss()
stored = journaled_backtest(resolved, workspace, ["benchmarks.scale"])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before_bytes": before, "peak_bytes": peak, "rows": len(stored.result.bars),
                  "final_equity": stored.result.metrics["final_equity"]}))
"""


def timestamps(weekdays: int) -> pd.DatetimeIndex:
    days = pd.bdate_range("2019-01-07", periods=weekdays)
    return pd.DatetimeIndex([day + hour for day in days for hour in HOURS]).tz_localize("UTC").as_unit("ns")


def universe_file(path: Path, symbols: list[str], stamps: pd.DatetimeIndex, rng: np.random.Generator) -> None:
    """One Parquet file holding `symbols`' bars (a symbol column, one row per symbol and bar): seeded
    geometric random walks with drift, overnight gaps and a high/low band around open and close."""
    n, k = len(stamps), len(symbols)
    log_returns = rng.normal(rng.uniform(-2e-5, 6e-5, k), rng.uniform(0.003, 0.008, k), (n, k))
    close = rng.uniform(20, 400, k) * np.exp(np.cumsum(log_returns, axis=0))
    open_ = np.vstack([close[:1], close[:-1]]) * np.exp(rng.normal(0.0, 0.001, (n, k)))
    band = np.exp(np.abs(rng.normal(0.0, 0.002, (2, n, k))))
    panels = {
        "open": open_,
        "high": np.maximum(open_, close) * band[0],
        "low": np.minimum(open_, close) / band[1],
        "close": close,
        "volume": np.round(rng.uniform(2e5, 2e6, (n, k))),
    }
    frame = pd.DataFrame(
        {
            "symbol": np.repeat(symbols, n),
            "timestamp": np.tile(stamps, k),
            **{field: panels[field].T.ravel() for field in FIELDS},
        }
    )
    frame.to_parquet(path, index=False)


def import_universe(workspace: Workspace, symbols: list[str], weekdays: int, folder: Path) -> None:
    """Write the universe's files and import each as `engine data import FILE --timeframe 1h` does."""
    rng, stamps = np.random.default_rng(SEED), timestamps(weekdays)
    for start in range(0, len(symbols), SYMBOLS_PER_FILE):
        path = folder / f"universe-{start:05d}.parquet"
        universe_file(path, symbols[start : start + SYMBOLS_PER_FILE], stamps, rng)
        import_bars(workspace.data, path, timeframe="1h")
        path.unlink()


def backtest_peak(home: Path, symbols: list[str]) -> dict:
    """The child's figures: its RSS before the backtest, its peak, the rows it backtested."""
    command = [sys.executable, "-c", CHILD, str(home), ",".join(symbols)]
    environment = {**os.environ, "ENGINE_HOME": str(home)}
    child = subprocess.run(command, capture_output=True, text=True, env=environment)
    if child.returncode != 0:
        raise RuntimeError(f"the scale backtest failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def measure(n_symbols: int = SYMBOLS, weekdays: int = WEEKDAYS) -> dict:
    symbols = [f"U{i:04d}" for i in range(n_symbols)]
    with tempfile.TemporaryDirectory(prefix="engine-scale-") as home:
        workspace = Workspace(Path(home))
        import_universe(workspace, symbols, weekdays, Path(home))
        child = backtest_peak(Path(home), symbols)
    symbol_bars = child["rows"] * n_symbols
    backtest_bytes = child["peak_bytes"] - child["before_bytes"]
    per_symbol_bar = backtest_bytes / symbol_bars
    return {
        "data": f"seeded random-walk universe, {n_symbols} symbols x {child['rows']} hourly bars, imported as Parquet files",
        "run": "sma_cross through journaled_backtest (what `engine backtest` runs: baseline, metrics, run store, report)",
        "peak_includes": "peak RSS of a fresh process less its RSS before the backtest (interpreter and imports)",
        "symbols": n_symbols,
        "bars": child["rows"],
        "raw_ohlcv_mib": symbol_bars * len(FIELDS) * 8 / 2**20,
        "raw_ohlcv_bytes_per_symbol_bar": len(FIELDS) * 8,
        "process_peak_rss_mib": child["peak_bytes"] / 2**20,
        "rss_before_backtest_mib": child["before_bytes"] / 2**20,
        "backtest_peak_mib": backtest_bytes / 2**20,
        "bytes_per_symbol_bar": per_symbol_bar,
        "bytes_per_symbol_bar_with_baseline": child["peak_bytes"] / symbol_bars,
        "goal_bytes_per_symbol_bar": GOAL_BYTES_PER_SYMBOL_BAR,
        "meets_goal": per_symbol_bar <= GOAL_BYTES_PER_SYMBOL_BAR,
        "final_equity": child["final_equity"],
    }


if __name__ == "__main__":
    print(json.dumps(measure(*(int(arg) for arg in sys.argv[1:])), indent=2))
