"""A run's results broken down: by walk-forward fold (the model's out-of-sample classification
figures) and by overlay step (the ablation), as the report and the TUI show them."""

from __future__ import annotations

from engine.formatting import format_metric, metric_label
from engine.report.render import Table

FOLD_COLUMNS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "positive_rate", "samples")
ABLATION_COLUMNS = ("total_return", "sharpe", "max_drawdown", "trades", "turnover", "costs_paid")


def fold_table(folds: list[dict]) -> Table:
    return Table(
        ["fold", "predicts", *map(metric_label, FOLD_COLUMNS)],
        [
            [
                str(fold["fold"]),
                f"{fold['predict_start'][:10]} to {fold['predict_end'][:10]}",
                *(format_metric(name, fold.get(name)) for name in FOLD_COLUMNS),
            ]
            for fold in folds
        ],
    )


def ablation_table(steps: list[dict]) -> Table:
    return Table(
        ["step", "overlays", *map(metric_label, ABLATION_COLUMNS)],
        [
            [step["step"], ", ".join(step["overlays"]) or "–", *(format_metric(name, step[name]) for name in ABLATION_COLUMNS)]
            for step in steps
        ],
    )
