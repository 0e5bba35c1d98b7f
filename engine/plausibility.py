"""Results too good to be true. A backtest says so, rather than letting a leak pass as skill.

Out-of-sample ROC-AUC above 0.9 in a fold, an annualized Sharpe above 4, or a win rate above 90%
over many trades are rare in honest tests of liquid markets and common when a model or a stage
sees data it should not (labels in the features, a stage reading the store directly). Each
warning suggests `engine check`, which finds lookahead inside a chunk; see docs/lookahead.md for
what it cannot see.
"""

from __future__ import annotations

MAX_FOLD_ROC_AUC = 0.9
MAX_SHARPE = 4.0
MAX_WIN_RATE = 0.9
MIN_TRADES_FOR_WIN_RATE = 30
CHECK_HINT = "run `engine check` and see docs/lookahead.md"


def implausibilities(metrics: dict, folds: list[dict] | None = None) -> list[str]:
    """One sentence per reason to doubt the result; empty when nothing looks implausible."""
    warnings = []
    high_auc = [fold for fold in folds or [] if (fold.get("roc_auc") or 0.0) > MAX_FOLD_ROC_AUC]
    if high_auc:
        best = max(fold["roc_auc"] for fold in high_auc)
        warnings.append(
            f"{len(high_auc)} of {len(folds)} walk-forward folds have an out-of-sample ROC-AUC above {MAX_FOLD_ROC_AUC} "
            f"(up to {best:.3f}): the model may see its labels; {CHECK_HINT}"
        )
    sharpe = metrics.get("sharpe")
    if sharpe is not None and sharpe > MAX_SHARPE:
        warnings.append(f"an annualized Sharpe of {sharpe:.2f} is above {MAX_SHARPE:g}; {CHECK_HINT}")
    win_rate, trades = metrics.get("win_rate"), metrics.get("trades") or 0
    if win_rate is not None and win_rate > MAX_WIN_RATE and trades >= MIN_TRADES_FOR_WIN_RATE:
        warnings.append(f"{win_rate:.0%} of {trades} trades won; {CHECK_HINT}")
    return warnings
