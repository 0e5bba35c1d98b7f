"""Peak memory of loading the synthetic universe: from Parquet (first load, builds the Arrow cache),
from the memory-mapped Arrow cache, and pandas reading the same Parquet files as the peer.

Each runs in a fresh process; peak memory is Python and NumPy allocations (tracemalloc) plus
Arrow's memory pool. Pages mapped from the cache file are not allocations and do not count."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import workspace
from engine.data.sample import SYNTHETIC_SYMBOLS

CHILD = r"""
import json, shutil, sys, tracemalloc
import pandas as pd
import pyarrow as pa
from engine.data.sample import SYNTHETIC_SYMBOLS, SYNTHETIC_TIMEFRAME
from engine.workspace import Workspace
store = Workspace.from_env().data
mode = sys.argv[1]
if mode == "parquet":
    shutil.rmtree(store.root / "cache" / SYNTHETIC_TIMEFRAME, ignore_errors=True)
tracemalloc.start()
if mode == "pandas":
    frames = [pd.read_parquet(store.bars_path(s, SYNTHETIC_TIMEFRAME)).set_index("timestamp") for s in SYNTHETIC_SYMBOLS]
    panel = pd.concat(frames, axis=1, keys=SYNTHETIC_SYMBOLS, join="inner")
    rows = len(panel)
else:
    rows = len(store.load(list(SYNTHETIC_SYMBOLS), SYNTHETIC_TIMEFRAME))
peak = tracemalloc.get_traced_memory()[1] + pa.default_memory_pool().max_memory()
print(json.dumps({"rows": rows, "peak_mib": peak / 2**20}))
"""


def _child(mode: str) -> dict:
    output = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure() -> dict:
    workspace()
    parquet, cached, pandas = _child("parquet"), _child("cache"), _child("pandas")
    return {
        "data": f"synthetic universe, {parquet['rows']} hourly bars per symbol",
        "panel_size_mib": parquet["rows"] * len(SYNTHETIC_SYMBOLS) * 6 * 8 / 2**20,
        "first_load_from_parquet_peak_mib": parquet["peak_mib"],
        "cached_load_from_arrow_mmap_peak_mib": cached["peak_mib"],
        "pandas_read_parquet_and_align_peak_mib": pandas["peak_mib"],
    }
