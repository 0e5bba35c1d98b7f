from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from engine.cli.backtest import StrategyOption, report_fold
from engine.cli.output import print_json_line, stdout
from engine.strategy import ModelSignal, StrategyError
from engine.strategy_files import load_strategy
from engine.workspace import Workspace


def train(
    strategy: StrategyOption,
    json: Annotated[bool, typer.Option("--json", help="End standard output with one JSON line of fold metrics")] = False,
) -> None:
    """Train a model strategy walk-forward (reusing stored folds) and report out-of-sample metrics per fold."""
    from engine.backtest import prepare
    from engine.models.walkforward import classification_metrics

    config = load_strategy(strategy)
    if not isinstance(config.signal, ModelSignal):
        raise StrategyError(f"strategy {config.name} has no model to train (signal.kind is {config.signal.kind!r})")
    walk_forward = prepare(config, Workspace.from_env(), on_fold=report_fold).walk_forward
    folds = walk_forward.fold_metrics()
    predicted = np.isfinite(walk_forward.predictions) & np.isfinite(walk_forward.labels)
    overall = classification_metrics(walk_forward.labels[predicted], walk_forward.predictions[predicted])
    if json:
        print_json_line({"strategy": config.name, "folds": folds, "overall": overall})
        return
    table = Table(title=f"{config.name}: walk-forward, out of sample", title_justify="left")
    for column in ("fold", "trained on", "predicts", "samples", "ROC-AUC", "PR-AUC", "F1", "precision", "recall", ""):
        table.add_column(column, justify="left" if column in ("trained on", "predicts") else "right", no_wrap=True)

    def cells(metrics: dict) -> list[str]:
        return [str(metrics["samples"])] + [
            "–" if metrics[key] is None else f"{metrics[key]:.3f}" for key in ("roc_auc", "pr_auc", "f1", "precision", "recall")
        ]

    for fold in folds:
        table.add_row(
            str(fold["fold"]),
            f"{fold['train_start'][:10]}→{fold['train_end'][:10]}",
            f"{fold['predict_start'][:10]}→{fold['predict_end'][:10]}",
            *cells(fold),
            "stored" if fold["reused"] else "new",
        )
    table.add_row("all", "", "", *cells(overall), "")
    stdout.print(table)
