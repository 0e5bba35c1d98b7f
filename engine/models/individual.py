"""Individual scope: per walk-forward fold, one model per symbol, trained on that symbol's bars alone.

Each symbol's walk-forward is a model's (engine.models.walkforward) over the one-symbol panel: its
features, labels, scaling and samples are that symbol's only, its model sees one asset, and its
folds are stored under keys of their own (the key hashes the scope, the symbol and the bars of that
symbol it could see), so they never mix with a combined model's folds, and another symbol's bars
never change them. All symbols follow one fold plan, from the latest of their first usable bars, so
that fold k of every symbol predicts the same block. Once deployed, each symbol's model retrains on
the schedule into its own next fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine import progress
from engine.kernel.bars import Bars
from engine.models.setup import ModelSetup
from engine.models.store import ModelStore
from engine.models.walkforward import (
    FOLD_BOUNDS,
    ModelInputs,
    TrainedFold,
    WalkForward,
    block_metrics,
    first_usable_row,
    planned_fold_keys,
    train_walk_forward,
)


@dataclass
class IndividualWalkForward(ModelInputs):
    """Every symbol's walk-forward over the same fold plan, and their predictions side by side."""

    setup: ModelSetup
    symbols: list[WalkForward]  # one per column of `bars`, each over that symbol's panel
    bars: Bars
    predictions: np.ndarray  # (bars, symbols): each symbol's own model's, NaN outside the blocks
    labels: np.ndarray

    @property
    def first_prediction_row(self) -> int:
        return self.symbols[0].first_prediction_row

    @property
    def folds(self) -> list[TrainedFold]:
        """The shared plan's folds, as the first symbol's model trained them (every symbol's cover the same bars)."""
        return self.symbols[0].folds

    def deployed_to(self, store: ModelStore, retrains: bool) -> IndividualWalkForward:
        """The same folds, each symbol's retraining past its history into `store` only if `retrains`."""
        return replace(self, symbols=[walk_forward.deployed_to(store, retrains) for walk_forward in self.symbols])

    def fold_metrics(self) -> list[dict]:
        """Each block's out-of-sample metrics over all symbols' predictions, and each symbol's model's own."""
        per_symbol = [walk_forward.fold_metrics() for walk_forward in self.symbols]
        return [
            {
                **{name: first[name] for name in FOLD_BOUNDS},
                "reused": all(records[index]["reused"] for records in per_symbol),
                **block_metrics(self.predictions, self.labels, self.folds[index].fold),
                "symbols": {symbol: records[index] for symbol, records in zip(self.bars.symbols, per_symbol, strict=True)},
            }
            for index, first in enumerate(per_symbol[0])
        ]


def shared_first_row(setup: ModelSetup, bars: Bars) -> int:
    """Where the symbols' shared fold plan starts: the latest of their first usable bars."""
    return max(first_usable_row(setup, bars.column(column)) for column in range(len(bars.symbols)))


def planned_individual_keys(setup: ModelSetup, bars: Bars) -> list[str]:
    """The model store keys of every symbol's folds, symbol by symbol (as `train_individual` trains them)."""
    first_row = shared_first_row(setup, bars)
    return [key for column in range(len(bars.symbols)) for key in planned_fold_keys(setup, bars.column(column), first_row)]


def train_individual(
    setup: ModelSetup, bars: Bars, store: ModelStore, on_fold: Callable[[TrainedFold], None] | None = None
) -> IndividualWalkForward:
    """Every symbol's folds, trained or reused, on the shared plan."""
    first_row = shared_first_row(setup, bars)
    symbols = []
    for panel in (bars.column(column) for column in range(len(bars.symbols))):
        progress.stage(f"{setup.signal.plugin}: the model of {panel.symbols[0]}")
        symbols.append(train_walk_forward(setup, panel, store, on_fold, first_row))
    predictions = np.hstack([walk_forward.predictions for walk_forward in symbols])
    labels = np.hstack([walk_forward.labels for walk_forward in symbols])
    return IndividualWalkForward(setup, symbols, bars, predictions, labels)
