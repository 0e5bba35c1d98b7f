"""Release packages: a backtested strategy frozen with everything that made its result, to trade from.

A release of a backtest run holds (engine.stores.releases keeps it immutable and checksummed):

    strategy.json   the strategy the run was given (a rebuild calibrates its thresholds again)
    run/            the run's config, metrics, folds, calibration and manifest (data fingerprint,
                    library versions), and its report
    models/<key>/   for a model strategy, the trained model, scaler and meta of every walk-forward
                    fold; the last is the deployed model, which trades every bar after them

`verify` rebuilds the backtest from the package alone, in an empty workspace that sees only the
same bars (and news), with no fold trained anew, and checks that the metrics are the run's.
`deployed` prepares a release to trade (`engine paper --release`): the strategy as it traded,
the package's folds over the bars it was made from, and its deployed model for every later bar,
retrained on the strategy's schedule only if the release says so. An ensemble's release trades
its members' folds combined with the weights of each block, as its backtest did; retrained,
its members retrain together and each new block is weighted from its own validation window.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from engine import progress
from engine.data.store import DataStore
from engine.stores.releases import Release, ReleaseError
from engine.stores.runs import StoredRun, library_versions, now
from engine.strategies.resolution import ResolvedStrategy, resolve_strategy
from engine.strategies.schema import ModelSignal, Strategy
from engine.usecases.backtest import PreparedStrategy, load_bars, loaded, run_backtest
from engine.workspace import Workspace

STRATEGY = "strategy.json"
RUN = "run"
MODELS = "models"
_RUN_DOCUMENTS = ("config.json", "metrics.json", "folds.json", "calibration.json", "risk.json", "manifest.json")


def create_release(workspace: Workspace, run_reference: str, name: str, retrain: bool = False) -> Release:
    """A new version of release `name` from a finished backtest run. `retrain`: a paper session
    from it retrains the deployed model on the strategy's schedule (by default it trades the
    released model for every later bar)."""
    run = workspace.runs.load(run_reference, kind="backtest")
    if run.kind != "backtest":
        raise ReleaseError(f"run {run.run_id} is a {run.kind} run: a release is made from a backtest")
    given = _strategy_as_given(run)
    strategy = Strategy.model_validate(given)
    bars = load_bars(strategy, workspace.data)
    fingerprint = run.manifest["data"]["fingerprint"]
    if bars.fingerprint() != fingerprint:
        raise ReleaseError(
            f"run {run.run_id}: the stored {strategy.data.timeframe} bars of {', '.join(strategy.data.symbols)} are not "
            "the ones it was run on (their fingerprint differs): backtest the strategy again, then release that run"
        )
    keys = _fold_keys(strategy, bars, workspace)
    missing = [key for key in keys if not workspace.models.has(key)]
    if missing:
        raise ReleaseError(
            f"run {run.run_id}: the model store no longer holds fold {missing[0]} (pruned?): run `engine backtest "
            f"--strategy {strategy.name}` to train it again, then release that run"
        )

    def write(folder: Path) -> dict:
        progress.stage(f"packaging run {run.run_id}")
        (folder / STRATEGY).write_text(json.dumps(given, indent=2) + "\n")
        _copy_run(run, folder / RUN)
        for key in keys:
            shutil.copytree(workspace.models.path(key), folder / MODELS / key)
        return {
            "created_at": now(),
            "run": run.run_id,
            "strategy": strategy.name,
            "symbols": list(strategy.data.symbols),
            "timeframe": strategy.data.timeframe,
            "data": {"fingerprint": fingerprint, "first": str(bars.index()[0]), "last": str(bars.index()[-1])},
            "metrics": run.metrics["strategy"],
            "folds": keys,
            "deployed": _deployed(strategy, keys),
            "retrain": retrain,
            "libraries": library_versions(),
        }

    return workspace.releases.create(name, write)


def _strategy_as_given(run: StoredRun) -> dict:
    """The strategy the run was given: what it ran (config.json) with each calibrated threshold
    overlay as the strategy gave it, so that a rebuild calibrates it again over the same window."""
    strategy = run.config["strategy"]
    for record in run.calibration or []:
        if "given" not in record:
            raise ReleaseError(f"run {run.run_id} is older than calibration records of the overlay calibrated: backtest it again")
        strategy["overlays"][record["overlay"]] = record["given"]
    return strategy


def _fold_keys(strategy: Strategy, bars, workspace: Workspace) -> list[str]:
    resolved = resolve_strategy(strategy, workspace=workspace)
    if resolved.model is None:
        return []
    from engine.models.learned import planned_keys

    return planned_keys(resolved.model, bars)


def _deployed(strategy: Strategy, keys: list[str]) -> str | list[str] | None:
    """The key of the last fold, which trades every later bar; of an individual-scope model, each
    symbol's last (its keys come symbol by symbol, as many per symbol)."""
    if not keys:
        return None
    if isinstance(strategy.signal, ModelSignal) and strategy.signal.scope == "individual":
        per_symbol = len(keys) // len(strategy.data.symbols)
        return keys[per_symbol - 1 :: per_symbol]
    return keys[-1]


def _copy_run(run: StoredRun, folder: Path) -> None:
    folder.mkdir()
    for name in _RUN_DOCUMENTS:
        if (run.path / name).exists():
            shutil.copyfile(run.path / name, folder / name)
    if (run.path / "report").is_dir():
        shutil.copytree(run.path / "report", folder / "report")


def release_strategy(release: Release) -> Strategy:
    """The strategy the release's run was given (what a rebuild backtests)."""
    return Strategy.model_validate(release.document(STRATEGY))


def traded_strategy(release: Release, workspace: Workspace, risk: dict | None = None) -> ResolvedStrategy:
    """The strategy as the release's run traded it (thresholds calibrated), its `[risk]` limits
    replaced by `risk` (`--kill-switch`), resolved against the workspace's plugins."""
    strategy = Strategy.model_validate(release.document(f"{RUN}/config.json")["strategy"]).with_overrides(risk=risk or {})
    return resolve_strategy(strategy, f"release {release.reference}", workspace)


def deployed(release: Release, resolved: ResolvedStrategy, workspace: Workspace) -> PreparedStrategy:
    """`resolved` (the release's traded strategy) prepared on the stored bars, which must begin with
    the release's: a model's (or an ensemble's members') folds are the package's (none is trained),
    and past them its deployed model predicts every later bar, retraining on the schedule (into the
    workspace's model store) only if the release says so."""
    prepared = loaded(resolved, workspace)
    released = prepared.bars.slice(0, int(prepared.bars.timestamps.searchsorted(_stamp(release.record["data"]["last"]), "right")))
    if released.fingerprint() != release.record["data"]["fingerprint"]:
        raise ReleaseError(
            f"release {release.reference}: the stored bars up to {release.record['data']['last'][:10]} are not the ones it was "
            "made from (their fingerprint differs)"
        )
    if resolved.model is None:
        return prepared
    from engine.models.learned import planned_keys, train_learned
    from engine.models.store import ModelStore
    from engine.signals.cache import predictions_of

    if planned_keys(resolved.model, released) != release.record["folds"]:
        raise ReleaseError(f"release {release.reference}: its strategy plans other folds than the package holds")
    packaged = train_learned(resolved.model, released, ModelStore(release.path / MODELS))  # every fold loads
    walk_forward = packaged.deployed_to(workspace.models, release.record["retrain"])
    predictions = predictions_of(walk_forward, prepared.bars)
    trade_from = max(prepared.trade_from, predictions.first_prediction_row)
    return replace(prepared, trade_from=trade_from, walk_forward=walk_forward, predictions=predictions)


def _stamp(text: str) -> np.datetime64:
    return np.datetime64(pd.Timestamp(text).tz_convert("UTC").tz_localize(None), "ns")


@dataclass(frozen=True)
class Verification:
    release: Release
    metrics: dict  # the rebuilt backtest's


def verify_release(workspace: Workspace, reference: str) -> Verification:
    """Rebuild the release's backtest from the package alone and check it gives the run's metrics."""
    release = workspace.releases.get(reference)  # every file checked against its checksum
    strategy = release_strategy(release)
    config = release.document(f"{RUN}/config.json")
    with tempfile.TemporaryDirectory(prefix="engine-verify-") as folder:
        empty = Workspace(Path(folder))
        (empty.root / "data").symlink_to(workspace.data.root.resolve(), target_is_directory=True)
        if (release.path / MODELS).is_dir():
            shutil.copytree(release.path / MODELS, empty.models.root)
        _check_same_bars(release, strategy, empty.data)
        progress.stage(f"rebuilding {release.reference} from its package")
        trained_anew = []
        result = run_backtest(
            strategy,
            empty,
            config["chunk_size"],
            config["execution"],
            on_fold=lambda fold: trained_anew.append(fold.key) if not fold.reused else None,
        )
    if trained_anew:
        raise ReleaseError(f"release {release.reference} does not hold the model of fold {trained_anew[0]}: it was trained anew")
    expected = release.document(f"{RUN}/metrics.json")["strategy"]
    rebuilt = json.loads(json.dumps(result.metrics))  # as the run stored its metrics
    different = [name for name in sorted(expected.keys() | rebuilt.keys()) if expected.get(name) != rebuilt.get(name)]
    if different:
        name = different[0]
        raise ReleaseError(
            f"release {release.reference} does not rebuild: {name} is {rebuilt.get(name)!r}, the run's was {expected.get(name)!r}"
            f"{f' ({len(different) - 1} more metrics differ)' if len(different) > 1 else ''}"
        )
    return Verification(release, rebuilt)


def _check_same_bars(release: Release, strategy: Strategy, store: DataStore) -> None:
    if load_bars(strategy, store).fingerprint() != release.record["data"]["fingerprint"]:
        raise ReleaseError(
            f"release {release.reference}: the stored {strategy.data.timeframe} bars of {', '.join(strategy.data.symbols)} are "
            "not the ones it was made from (their fingerprint differs)"
        )
