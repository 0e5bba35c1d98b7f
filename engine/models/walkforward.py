"""Walk-forward training: train on a window, skip a purge gap of at least the label horizon,
predict the next block out of sample, roll forward.

No bar is predicted by a model that saw it or any later bar: a fold's training samples end
`purge_bars` before its prediction block, and their labels (which look `horizon` bars ahead) end
before the block starts. Scaling is fitted on each fold's training samples only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from sklearn import metrics as sk

from engine import progress
from engine.features.dataset import FeatureSet, Scaler, forward_return_labels, sequences
from engine.kernel.bars import Bars
from engine.models import calls
from engine.models.base import Dataset, Model
from engine.models.setup import ModelSetup
from engine.models.store import ModelStore, fold_key
from engine.strategies.schema import ModelSignal, StrategyError


@dataclass(frozen=True)
class Fold:
    index: int
    train_start: int  # training sample rows are [train_start, train_end)
    train_end: int
    predict_start: int  # out-of-sample rows are [predict_start, predict_end)
    predict_end: int


def next_fold(previous: Fold, first_row: int, signal: ModelSignal) -> Fold:
    """The fold a deployed model retrains for: its block starts `predict_bars` after the previous
    one's start (the retraining schedule), and trains as every fold does."""
    spec, purge = signal.walk_forward, signal.purge_bars
    predict_start = previous.predict_start + spec.predict_bars
    train_end = predict_start - purge
    train_start = first_row if spec.expanding else train_end - spec.train_bars
    return Fold(previous.index + 1, train_start, train_end, predict_start, predict_start + spec.predict_bars)


def plan_folds(n_rows: int, first_row: int, signal: ModelSignal) -> list[Fold]:
    spec, purge = signal.walk_forward, signal.purge_bars
    folds, predict_start = [], first_row + spec.train_bars + purge
    while predict_start < n_rows:
        train_end = predict_start - purge
        train_start = first_row if spec.expanding else train_end - spec.train_bars
        predict_end = min(predict_start + spec.predict_bars, n_rows)
        folds.append(Fold(len(folds), train_start, train_end, predict_start, predict_end))
        predict_start = predict_end
    return folds


FOLD_BOUNDS = ("fold", "train_start", "train_end", "predict_start", "predict_end")  # of each fold_metrics record


@dataclass
class TrainedFold:
    fold: Fold
    model: Model
    scaler: Scaler
    metrics: dict
    key: str
    reused: bool
    validation: dict | None = None  # scores on the fold's validation window, when its setup asks (ensemble members)
    symbol: str | None = None  # the one symbol its model is trained on and predicts (individual scope)


class ModelInputs:
    """What a model's walk-forward (one model's, or one per symbol's) tells its signal stage of its setup."""

    setup: ModelSetup

    @property
    def plugin(self) -> str:
        return self.setup.signal.plugin

    @property
    def features(self) -> FeatureSet:
        return self.setup.features

    @property
    def lookback(self) -> int:
        return self.setup.lookback


@dataclass
class WalkForward(ModelInputs):
    setup: ModelSetup
    store: ModelStore  # where retrained folds go
    bars: Bars
    folds: list[TrainedFold]
    predictions: np.ndarray  # (bars, symbols): out-of-sample probability, NaN outside prediction blocks
    labels: np.ndarray
    retrains: bool = True  # past its history the model retrains on the schedule; a release may keep its deployed one

    def retrain(self, bars: Bars, previous: Fold) -> TrainedFold:
        """The fold scheduled after `previous`, trained on `bars` (the history up to and including
        the first bar of its block, whose label is not known yet) and kept in the model store."""
        fold = next_fold(previous, self.folds[0].fold.train_start, self.setup.signal)
        if len(bars) != fold.predict_start + 1:
            raise ValueError(f"the fold predicting from bar {fold.predict_start} trains on the bars before it and that bar")
        features, usable, labels = _inputs(self.setup, bars)
        return _fold(self.setup, fold, f"fold {fold.index}: retraining", bars, features, usable, labels, self.store)

    def deployed_to(self, store: ModelStore, retrains: bool) -> WalkForward:
        """These folds deployed: later bars retrained into `store` on the schedule, or (not `retrains`)
        predicted by the last fold."""
        return replace(self, store=store, retrains=retrains)

    @property
    def first_prediction_row(self) -> int:
        return self.folds[0].fold.predict_start

    def fold_metrics(self) -> list[dict]:
        index = self.bars.index()
        return [
            {
                "fold": trained.fold.index,
                "train_start": str(index[trained.fold.train_start]),
                "train_end": str(index[trained.fold.train_end - 1]),
                "predict_start": str(index[trained.fold.predict_start]),
                "predict_end": str(index[trained.fold.predict_end - 1]),
                "reused": trained.reused,
                **trained.metrics,
                **({} if trained.validation is None else {"validation": trained.validation}),
            }
            for trained in self.folds
        ]


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    if not len(labels):  # a deployed model's block: its labels are still in the future
        names = ("positive_rate", "roc_auc", "pr_auc", "f1", "precision", "recall")
        return {"samples": 0, **dict.fromkeys(names)}
    predicted = probabilities > 0.5
    both_classes = len(np.unique(labels)) == 2
    return {
        "samples": int(len(labels)),
        "positive_rate": float(labels.mean()) if len(labels) else None,
        "roc_auc": float(sk.roc_auc_score(labels, probabilities)) if both_classes else None,
        "pr_auc": float(sk.average_precision_score(labels, probabilities)) if both_classes else None,
        "f1": float(sk.f1_score(labels, predicted, zero_division=0)),
        "precision": float(sk.precision_score(labels, predicted, zero_division=0)),
        "recall": float(sk.recall_score(labels, predicted, zero_division=0)),
    }


def block_metrics(predictions: np.ndarray, labels: np.ndarray, fold: Fold) -> dict:
    """The classification metrics of `predictions` (bars, symbols) over the fold's block, where both are known."""
    rows = slice(fold.predict_start, fold.predict_end)
    predicted, known = predictions[rows], labels[rows]
    both = np.isfinite(predicted) & np.isfinite(known)
    return classification_metrics(known[both], predicted[both])


def predict_rows(
    model: Model, scaler: Scaler, features: np.ndarray, rows: np.ndarray, columns: np.ndarray, lookback: int
) -> np.ndarray:
    """Checked probabilities for the sequences ending at (rows, columns) of `features`."""
    # Scaled once over the rows the windows span, then windowed: the same values as scaling each
    # window, without float64 windows and their scaled temporaries (lookback times the rows).
    start = int(rows.min()) - lookback + 1 if len(rows) else 0
    stop = int(rows.max()) + 1 if len(rows) else 0
    scaled = scaler.transform(features[start:stop])
    return calls.predict(model, sequences(scaled, rows - start, columns, lookback), columns.astype(np.int64))


def planned_fold_keys(setup: ModelSetup, bars: Bars, first_row: int | None = None) -> list[str]:
    """The model store keys of the folds a walk-forward over `bars` (from `first_row`, as
    `train_walk_forward`) trains or reuses."""
    first = first_usable_row(setup, bars) if first_row is None else first_row
    return [fold_key_of(setup, fold, bars) for fold in plan_folds(len(bars), first, setup.signal)]


def first_usable_row(setup: ModelSetup, bars: Bars) -> int:
    """The first bar where every symbol has a full window of the setup's features."""
    _, usable, _ = _inputs(setup, bars)
    return _first_usable_row(usable)


def _first_usable_row(usable: np.ndarray) -> int:
    """The first bar where every symbol has a full feature window."""
    everywhere = usable.all(axis=1)
    return int(np.argmax(everywhere)) if everywhere.any() else len(usable)


def _plan(setup: ModelSetup, bars: Bars, usable: np.ndarray) -> list[Fold]:
    return plan_folds(len(bars), _first_usable_row(usable), setup.signal)


def fold_key_of(setup: ModelSetup, fold: Fold, bars: Bars) -> str:
    """Everything that shapes a fold, hashed (see engine.models.store)."""
    index = bars.index()
    return fold_key(
        {
            **setup.description(),
            "symbols": bars.symbols,
            "fold": [str(index[fold.train_start]), str(index[fold.train_end - 1]), str(index[fold.predict_start])],
            "data_fingerprint": bars.slice(0, fold.predict_start).fingerprint(),
        }
    )


def train_walk_forward(
    setup: ModelSetup,
    bars: Bars,
    store: ModelStore,
    on_fold: Callable[[TrainedFold], None] | None = None,
    first_row: int | None = None,
) -> WalkForward:
    """`first_row`: where the folds start instead of the first bar every symbol's features are usable
    (an ensemble's members share one plan, from the latest of their first usable bars)."""
    signal, lookback = setup.signal, setup.lookback
    progress.stage(f"{signal.plugin}: computing features")
    features, usable, labels = _inputs(setup, bars)
    folds = _plan(setup, bars, usable) if first_row is None else plan_folds(len(bars), first_row, signal)
    if not folds:
        period = f"{str(bars.timestamps[0])[:10]} to {str(bars.timestamps[-1])[:10]}" if len(bars) else "no dates"
        raise StrategyError(
            f"signal.walk_forward.train_bars: not enough data for one walk-forward fold: {len(bars)} bars ({period}), "
            f"the first usable at bar {_first_usable_row(usable)}, and a fold needs {signal.walk_forward.train_bars} "
            f"training + {signal.purge_bars} purge bars before its first prediction"
        )
    progress.stage(f"{signal.plugin}: {len(folds)} walk-forward folds (stored ones load, others train)")
    predictions = np.full(bars.shape, np.nan)
    trained_folds = []
    for fold in folds:
        trained = _fold(
            setup, fold, f"fold {fold.index}: training ({fold.index + 1} of {len(folds)})", bars, features, usable, labels, store
        )
        rows, columns = np.nonzero(usable[fold.predict_start : fold.predict_end])
        rows = rows + fold.predict_start
        predictions[rows, columns] = predict_rows(trained.model, trained.scaler, features, rows, columns, lookback)
        trained_folds.append(trained)
        if on_fold is not None:
            on_fold(trained)
    return WalkForward(setup, store, bars, trained_folds, predictions, labels)


def _inputs(setup: ModelSetup, bars: Bars) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, where a sequence is usable (all `lookback` rows ending at it finite), and labels."""
    features = setup.features.compute(bars)
    finite = np.isfinite(features).all(axis=-1)
    usable = np.zeros_like(finite)
    lookback = setup.lookback
    if len(finite) >= lookback:
        window_sums = np.cumsum(np.vstack([np.zeros((1, finite.shape[1])), (~finite).astype(np.int64)]), axis=0)
        usable[lookback - 1 :] = (window_sums[lookback:] - window_sums[:-lookback]) == 0
    labels = forward_return_labels(bars.close, setup.signal.labels.horizon, setup.signal.labels.threshold)
    return features, usable, labels


def _samples(usable: np.ndarray, labels: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    rows, columns = np.nonzero(usable[start:stop] & np.isfinite(labels[start:stop]))
    return rows + start, columns


def _fold(
    setup: ModelSetup,
    fold: Fold,
    training: str,
    bars: Bars,
    features: np.ndarray,
    usable: np.ndarray,
    labels: np.ndarray,
    store: ModelStore,
) -> TrainedFold:
    """The fold from the model store, or trained and stored (`training`: what the progress says meanwhile)."""
    signal = setup.signal
    key = fold_key_of(setup, fold, bars)
    meta, scaler = store.read_meta(key), store.read_scaler(key)
    # A fold whose files are damaged is trained again and stored over them: the store is a cache.
    if meta is not None and "metrics" in meta and scaler is not None and {"mean", "scale"} <= scaler.keys():
        model, scaler = calls.load(setup.model_class, store.path(key) / "model.pt"), Scaler.from_dict(scaler)
        validation = _validation(setup, fold, bars, features, usable, labels, model, scaler)
        metrics = meta["metrics"]
        return TrainedFold(fold, model, scaler, metrics, key, reused=True, validation=validation, symbol=_symbol(setup, bars))

    # The engine's training loop advances one step per epoch; a plugin with its own fit has no epochs to count.
    progress.stage(training, setup.hyperparameters.get("epochs"), "epoch")
    horizon = signal.labels.horizon
    cut, _ = _validation_window(setup, fold)
    train_rows, train_columns = _samples(usable, labels, fold.train_start, cut - horizon)
    val_rows, val_columns = _samples(usable, labels, cut, fold.train_end)
    scaler = Scaler.fit(features[train_rows, train_columns])

    def dataset(rows: np.ndarray, columns: np.ndarray) -> Dataset:
        x = scaler.transform(sequences(features, rows, columns, setup.lookback))
        return Dataset(x, columns.astype(np.int64), labels[rows, columns].astype(np.float32))

    model = calls.build(setup.model_class, len(setup.features.columns), len(bars.symbols), setup.lookback, setup.hyperparameters)
    report = calls.fit(model, dataset(train_rows, train_columns), dataset(val_rows, val_columns), seed=signal.seed + fold.index)
    test_rows, test_columns = _samples(usable, labels, fold.predict_start, fold.predict_end)
    probabilities = predict_rows(model, scaler, features, test_rows, test_columns, setup.lookback)
    metrics = {"training": report, **classification_metrics(labels[test_rows, test_columns], probabilities)}

    def write(folder):
        calls.save(model, folder / "model.pt")
        (folder / "scaler.json").write_text(json.dumps(scaler.to_dict()))
        meta = {
            **setup.description(),
            "symbols": list(bars.symbols),
            "feature_columns": list(setup.features.columns),
            "fold": fold.__dict__,
            "data_fingerprint": bars.slice(0, fold.predict_start).fingerprint(),
            "metrics": metrics,
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=str))

    store.save(key, write)
    validation = _validation(setup, fold, bars, features, usable, labels, model, scaler)
    return TrainedFold(fold, model, scaler, metrics, key, reused=False, validation=validation, symbol=_symbol(setup, bars))


def _symbol(setup: ModelSetup, bars: Bars) -> str | None:
    return bars.symbols[0] if setup.signal.scope == "individual" else None


def _validation_window(setup: ModelSetup, fold: Fold) -> tuple[int, int]:
    """The rows of the fold's training window its model is validated on (not trained on)."""
    fraction = setup.signal.walk_forward.validation_fraction
    return fold.train_start + int((1 - fraction) * (fold.train_end - fold.train_start)), fold.train_end


def _validation(setup, fold, bars, features, usable, labels, model, scaler) -> dict | None:
    """The fold's model scored on its validation window, which ends before the fold predicts: F1 of
    its calls at 0.5, and the Sharpe ratio (per bar, not annualized) of holding, each bar, the symbols
    it calls up, equally weighted, to the next bar. None unless the setup asks (`scores_validation`)."""
    if not setup.scores_validation:
        return None
    rows, columns = _samples(usable, labels, *_validation_window(setup, fold))
    if not len(rows):
        return {"samples": 0, "f1": 0.0, "sharpe": 0.0}
    calls_up = predict_rows(model, scaler, features, rows, columns, setup.lookback) > 0.5
    f1 = float(sk.f1_score(labels[rows, columns], calls_up, zero_division=0))
    close = bars.close
    held = calls_up * (close[rows + 1, columns] / close[rows, columns] - 1.0)  # rows + 1 is still before the fold's block
    bar, where = np.unique(rows, return_inverse=True)
    per_bar = np.bincount(where, held) / np.bincount(where)
    deviation = per_bar.std()
    return {"samples": int(len(rows)), "f1": f1, "sharpe": float(per_bar.mean() / deviation) if deviation > 0 else 0.0}
