"""The run store: every backtest leaves `runs/<id>/` with what it takes to trust and repeat it.

    config.json      the resolved strategy, chunk size and execution mode
    metrics.json     {"strategy": {...}, "baselines": {"buy & hold": {...}, …}} on the same bars and period
    folds.json       walk-forward fold metrics (model strategies)
    ablation.json    the overlay chain built up step by step (with --ablation)
    calibration.json threshold searches on the validation window (thresholds with `calibrate`)
    equity.parquet   per bar: equity, cash, gross and net equity, costs paid, gross exposure
    baselines.parquet per bar: each baseline's net equity
    trades.parquet   round trips per symbol
    orders.parquet   every executed order: decided at, filled at, side, size, price, fees, slippage
    manifest.json    run id, time, command, data fingerprint and origins, library versions
    report/          the tearsheet (HTML, markdown, PNG charts), written after the run (engine.report)

A run is written to a hidden folder and renamed into place, so a run folder is whole or absent.
"""

from __future__ import annotations

import json
import platform
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from engine.data.store import DataStore

if TYPE_CHECKING:
    from engine.backtest import BacktestResult

LIBRARIES = (
    "engine",
    "numpy",
    "pandas",
    "pyarrow",
    "vectorbt",
    "numba",
    "arch",
    "torch",
    "scikit-learn",
    "pydantic",
    "typer",
    "rich",
    "pluggy",
    "optuna",
    "matplotlib",
    "jinja2",
)


class RunNotFound(LookupError):
    pass


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    path: Path
    created_at: str
    strategy: str
    total_return: float | None
    sharpe: float | None
    max_drawdown: float | None


@dataclass(frozen=True)
class StoredRun:
    """A stored run's files, read on first use; optional files (folds, ablation, …) read as None."""

    run_id: str
    path: Path

    def _json(self, name: str) -> dict | None:
        path = self.path / name
        return json.loads(path.read_text()) if path.exists() else None

    def _frame(self, name: str) -> pd.DataFrame | None:
        path = self.path / name
        return pd.read_parquet(path) if path.exists() else None

    @cached_property
    def config(self) -> dict:
        return self._json("config.json")

    @cached_property
    def manifest(self) -> dict:
        return self._json("manifest.json")

    @cached_property
    def metrics(self) -> dict:
        return self._json("metrics.json")

    @cached_property
    def folds(self) -> list[dict] | None:
        folds = self._json("folds.json")
        return None if folds is None else folds["folds"]

    @cached_property
    def ablation(self) -> list[dict] | None:
        ablation = self._json("ablation.json")
        return None if ablation is None else ablation["steps"]

    @cached_property
    def equity(self) -> pd.DataFrame:
        return self._frame("equity.parquet")

    @cached_property
    def trades(self) -> pd.DataFrame:
        return self._frame("trades.parquet")

    @cached_property
    def baselines(self) -> pd.DataFrame | None:
        return self._frame("baselines.parquet")


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def new_id(self, strategy: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{strategy}-{secrets.token_hex(3)}"

    def save(self, result: BacktestResult, store: DataStore, command: list[str]) -> tuple[str, Path]:
        run_id = self.new_id(result.strategy.name)
        final = self.root / run_id
        staging = self.root / f".{run_id}.partial"
        staging.mkdir(parents=True)
        try:
            execution = result.execution
            _write_json(
                staging / "config.json",
                {
                    "strategy": result.strategy.model_dump(mode="json"),
                    "chunk_size": result.chunk_size,
                    "execution": result.mode,
                    "periods_per_year": result.strategy.periods_per_year,
                },
            )
            _write_json(staging / "metrics.json", {"strategy": result.metrics, "baselines": result.baselines})
            if result.fold_metrics() is not None:
                _write_json(staging / "folds.json", {"folds": result.fold_metrics()})
            if result.ablation is not None:
                _write_json(staging / "ablation.json", {"steps": result.ablation})
            if result.prepared.calibration:
                _write_json(staging / "calibration.json", {"thresholds": result.prepared.calibration})
            execution.equity_frame().to_parquet(staging / "equity.parquet", index=False)
            result.trades().to_parquet(staging / "trades.parquet", index=False)
            execution.fills.to_parquet(staging / "orders.parquet", index=False)
            baselines = pd.DataFrame({"timestamp": result.bars.index(), **result.baseline_equity})
            baselines.to_parquet(staging / "baselines.parquet", index=False)
            timeframe = result.strategy.data.timeframe
            _write_json(
                staging / "manifest.json",
                {
                    "run_id": run_id,
                    "created_at": datetime.now(UTC).isoformat(),
                    "strategy": result.strategy.name,
                    "command": command,
                    "data": {
                        "fingerprint": result.prepared.bars.fingerprint(),
                        "timeframe": timeframe,
                        "rows": len(result.prepared.bars),
                        "traded_rows": len(result.bars),
                        "series": {symbol: store.describe(symbol, timeframe).origin for symbol in result.bars.symbols},
                    },
                    "libraries": library_versions(),
                },
            )
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return run_id, final

    def path(self, run_id: str) -> Path:
        path = self.root / run_id
        if not (path / "manifest.json").exists() or run_id.startswith("."):
            raise RunNotFound(f"no run {run_id!r} in {self.root}")
        return path

    def read(self, run_id: str, name: str) -> dict:
        return json.loads((self.path(run_id) / name).read_text())

    def load(self, run_id: str) -> StoredRun:
        return StoredRun(run_id, self.path(run_id))

    def list(self) -> list[RunSummary]:
        if not self.root.exists():
            return []
        summaries = []
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(".") or not (path / "manifest.json").exists():
                continue
            manifest = json.loads((path / "manifest.json").read_text())
            metrics = json.loads((path / "metrics.json").read_text())["strategy"]
            summaries.append(
                RunSummary(
                    run_id=path.name,
                    path=path,
                    created_at=manifest["created_at"],
                    strategy=manifest["strategy"],
                    total_return=metrics.get("total_return"),
                    sharpe=metrics.get("sharpe"),
                    max_drawdown=metrics.get("max_drawdown"),
                )
            )
        return summaries


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
