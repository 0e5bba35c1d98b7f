"""Reasons to doubt a result. A backtest says so, rather than letting a leak or a fluke pass as skill.

Too good to be true: out-of-sample ROC-AUC above 0.9 in a fold, an annualized Sharpe above 4, or a
win rate above 90% over many trades are rare in honest tests of liquid markets and common when a
model or a stage sees data it should not (labels in the features, a stage reading the store
directly). Each such warning suggests `engine check`, which finds lookahead inside a chunk; see
docs/lookahead.md for what it cannot see.

Too little to go on: a result, or a threshold calibration's choice, that rests on fewer than
MIN_TRADES round trips.
"""

from __future__ import annotations

MAX_FOLD_ROC_AUC = 0.9
MAX_SHARPE = 4.0
MAX_WIN_RATE = 0.9
MIN_TRADES_FOR_WIN_RATE = 30
# Round trips below which a result rests on too few trades: each one then moves the Sharpe ratio
# and the total return by a large step, so which few trades fell in the period decides the figures
# more than the rule does. The one threshold for backtests, threshold calibration and study
# results; gru93 asks as much of its trials (optimize.min_trades).
MIN_TRADES = 10
CHECK_HINT = "run `engine check` and see docs/lookahead.md"


def too_few_trades(trades: int, what: str) -> str | None:
    """A sentence when `what` ("the result", "trial 4's holdout figures") rests on fewer than MIN_TRADES trades."""
    if trades >= MIN_TRADES:
        return None
    if trades == 0:
        return f"{what} rests on no trades: it never took a position, so it says nothing about the rule"
    return f"{what} rests on {trades} trade{'s' if trades != 1 else ''}, fewer than {MIN_TRADES}: too few to judge by"


def implausibilities(
    metrics: dict, folds: list[dict] | None = None, calibration: list[dict] | None = None, judged_by_trades: bool = True
) -> list[str]:
    """One sentence per reason to doubt the result; empty when nothing looks doubtful.

    `judged_by_trades`: False for a result that is the market's by design (buy-and-hold holds one
    position per symbol), which no count of trades makes more or less believable.
    """
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
    if judged_by_trades and (thin := too_few_trades(trades, "the result")):
        warnings.append(thin)
    for search in calibration or []:
        pair = search["chosen"]
        chosen = next(trial for trial in search["trials"] if (trial["entry"], trial["exit"]) == (pair["entry"], pair["exit"]))
        what = (
            f"the threshold calibration of overlays[{search['overlay']}] (entry {chosen['entry']:g}, exit {chosen['exit']:g}, "
            f"chosen over {search['validation_start'][:10]} to {search['validation_end'][:10]})"
        )
        if thin := too_few_trades(chosen["trades"], what):
            warnings.append(thin)
    return warnings
