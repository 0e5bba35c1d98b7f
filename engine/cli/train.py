from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from engine.cli.backtest import StrategyOption, report_fold
from engine.cli.output import ALWAYS, Column, print_json_line, print_table
from engine.cli.progress_display import StageDisplay
from engine.progress import listening
from engine.strategy import ModelSignal, StrategyError
from engine.strategy_files import load_strategy
from engine.workspace import Workspace


def train(
    strategy: StrategyOption,
    json: Annotated[bool, typer.Option("--json", help="End standard output with one JSON line of fold metrics")] = False,
) -> None:
    """Train a model strategy walk-forward (reusing stored folds) and report out-of-sample metrics per fold."""
    with StageDisplay() as display, listening(display):
        display.stage("loading the training libraries")
        from engine.backtest import prepare
        from engine.models.walkforward import classification_metrics

        workspace = Workspace.from_env()
        config = load_strategy(strategy, workspace)
        if not isinstance(config.signal, ModelSignal):
            raise StrategyError(f"strategy {config.name} has no model to train (signal.kind is {config.signal.kind!r})")
        walk_forward = prepare(config, workspace, on_fold=report_fold).walk_forward
    folds = walk_forward.fold_metrics()
    predicted = np.isfinite(walk_forward.predictions) & np.isfinite(walk_forward.labels)
    overall = classification_metrics(walk_forward.labels[predicted], walk_forward.predictions[predicted])
    if json:
        print_json_line({"strategy": config.name, "folds": folds, "overall": overall})
        return
    print_table(
        FOLD_COLUMNS,
        [*(fold_row(fold) for fold in folds), ["all", "", "", *metric_cells(overall), ""]],
        title=f"{config.name}: walk-forward, out of sample",
    )


FOLD_COLUMNS = [
    Column("fold", "right", keep=ALWAYS),
    Column("trained on", keep=1),
    Column("predicts", keep=8),
    Column("samples", "right", keep=3),
    Column("ROC-AUC", "right", keep=9, short="ROC"),
    Column("PR-AUC", "right", keep=7, short="PR"),
    Column("F1", "right", keep=6),
    Column("precision", "right", keep=5, short="prec."),
    Column("recall", "right", keep=5, short="rec."),
    Column("", keep=2),  # stored (reused) or new
]
CLASSIFICATION_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall")


def metric_cells(metrics: dict) -> list[str]:
    return [str(metrics["samples"])] + ["–" if metrics[key] is None else f"{metrics[key]:.3f}" for key in CLASSIFICATION_METRICS]


def fold_row(fold: dict) -> list[str]:
    return [
        str(fold["fold"]),
        f"{fold['train_start'][:10]}→{fold['train_end'][:10]}",
        f"{fold['predict_start'][:10]}→{fold['predict_end'][:10]}",
        *metric_cells(fold),
        "stored" if fold["reused"] else "new",
    ]
