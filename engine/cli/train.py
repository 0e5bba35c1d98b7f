from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.backtest import StrategyOption, report_fold
from engine.cli.output import ALWAYS, Column, print_json_line, print_line, print_table
from engine.cli.progress_display import StageDisplay
from engine.progress import listening
from engine.workspace import Workspace


def train(
    strategy: StrategyOption,
    json: Annotated[bool, typer.Option("--json", help="End standard output with one JSON line of fold metrics")] = False,
) -> None:
    """Train a model strategy walk-forward (reusing stored folds) and report out-of-sample metrics per fold."""
    with StageDisplay() as display, listening(display):
        display.stage("loading the training libraries")
        from engine.api import Research

        training = Research(Workspace.from_env()).train(strategy, on_fold=report_fold)
    if json:
        print_json_line(
            {
                "strategy": training.strategy,
                "folds": training.folds,
                "overall": training.overall,
                "signal_quality": training.signal_quality,
            }
        )
        return
    print_table(
        FOLD_COLUMNS,
        [*(fold_row(fold) for fold in training.folds), ["all", "", "", *metric_cells(training.overall), ""]],
        title=f"{training.strategy}: walk-forward, out of sample",
    )
    if training.folds and "members" in training.folds[0]:
        print_table(
            MEMBER_COLUMNS,
            [member_row(fold, name) for fold in training.folds for name in fold["members"]],
            title=f"{training.strategy}: each member's weight (from the validation window before the block) and its own metrics",
        )
    if training.folds and "symbols" in training.folds[0]:
        print_table(
            SYMBOL_FOLD_COLUMNS,
            [symbol_fold_row(fold, symbol) for fold in training.folds for symbol in fold["symbols"]],
            title=f"{training.strategy}: each symbol's own model (individual scope), out of sample",
        )
    quality = training.signal_quality
    print_line(ic_basis(quality))
    if quality["by_symbol"] is not None:
        rows = [[symbol, *ic_cells(figures)] for symbol, figures in quality["by_symbol"].items()]
        print_table(SYMBOL_COLUMNS, rows, title=f"{training.strategy}: signal quality per symbol, out of sample")


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
    Column("IC", "right", keep=4),
    Column("ICIR", "right", keep=3),
    Column("RankIC", "right", keep=8, short="RIC"),
    Column("RankICIR", "right", keep=6, short="RICIR"),
    Column("", keep=2),  # stored (reused) or new
]
SYMBOL_COLUMNS = [
    Column("symbol", identifier=True),
    Column("IC", "right", keep=4),
    Column("ICIR", "right", keep=3),
    Column("RankIC", "right", keep=8),
    Column("RankICIR", "right", keep=6),
]
CLASSIFICATION_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall")
IC_METRICS = ("ic", "icir", "rank_ic", "rank_icir")


def _cells(metrics: dict, keys: tuple[str, ...]) -> list[str]:
    return ["–" if metrics[key] is None else f"{metrics[key]:.3f}" for key in keys]


def ic_cells(metrics: dict) -> list[str]:
    return _cells(metrics, IC_METRICS)


def metric_cells(metrics: dict) -> list[str]:
    return [str(metrics["samples"]), *_cells(metrics, CLASSIFICATION_METRICS), *ic_cells(metrics)]


def ic_basis(quality: dict) -> str:
    """How the IC columns were measured, in one line."""
    outcome = f"the {quality['horizon']}-bar forward return the labels are made of"
    if quality["basis"] == "cross-sectional":
        return f"IC, RankIC: across symbols at each bar, against {outcome}; mean, and mean / std (ICIR) over the bars"
    return (
        f"IC, RankIC: fewer than {quality['min_symbols']} symbols to rank across, so per symbol over each "
        f"{quality['window']}-bar window, against {outcome}; mean, and mean / std (ICIR) over the windows"
    )


def fold_row(fold: dict) -> list[str]:
    return [
        str(fold["fold"]),
        f"{fold['train_start'][:10]}→{fold['train_end'][:10]}",
        f"{fold['predict_start'][:10]}→{fold['predict_end'][:10]}",
        *metric_cells(fold),
        "stored" if fold["reused"] else "new",
    ]


SYMBOL_FOLD_COLUMNS = [
    Column("fold", "right", keep=ALWAYS),
    Column("symbol", keep=ALWAYS),
    *FOLD_COLUMNS[3:9],  # samples and the classification metrics (a symbol's model has no IC of its own)
    FOLD_COLUMNS[-1],
]


def symbol_fold_row(fold: dict, symbol: str) -> list[str]:
    record = fold["symbols"][symbol]
    return [
        str(fold["fold"]),
        symbol,
        str(record["samples"]),
        *_cells(record, CLASSIFICATION_METRICS),
        "stored" if record["reused"] else "new",
    ]


MEMBER_COLUMNS = [
    Column("fold", "right", keep=ALWAYS),
    Column("member", keep=ALWAYS),
    Column("weight", "right", keep=ALWAYS),
    Column("validation F1", "right", keep=4, short="val F1"),
    Column("validation Sharpe", "right", keep=3, short="val SR"),
    Column("ROC-AUC", "right", keep=6, short="ROC"),
    Column("F1", "right", keep=5),
]


def member_row(fold: dict, name: str) -> list[str]:
    member, validation = fold["members"][name], fold["members"][name].get("validation") or {}
    return [
        str(fold["fold"]),
        name,
        f"{fold['weights'][name]:.3f}",
        *("–" if validation.get(key) is None else f"{validation[key]:.3f}" for key in ("f1", "sharpe")),
        *("–" if member[key] is None else f"{member[key]:.3f}" for key in ("roc_auc", "f1")),
    ]
