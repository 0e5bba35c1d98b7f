"""After the search: the Pareto members on the holdout period, once each, and their deflated Sharpe.

Results are kept in the study (user attribute "holdout", by trial number), so a resumed or shown
study never evaluates a member on the holdout twice. A member whose threshold calibration finds no
trade in the holdout's first bars has an error there instead of figures.
"""

from __future__ import annotations

import math

import numpy as np
import optuna

from engine.optimize.deflated_sharpe import deflated_sharpe_ratio
from engine.optimize.evaluation import evaluate
from engine.optimize.pareto import ParetoFront
from engine.optimize.space import apply_parameters
from engine.optimize.study import SUMMARY_METRICS, OpenStudy
from engine.optimize.summary import completed
from engine.overlays.calibration import CalibrationError
from engine.signals.cache import PredictionCache
from engine.workspace import Workspace


def per_bar_sharpe(trial: optuna.trial.FrozenTrial) -> float:
    """A trial's validation Sharpe, de-annualized with the bars per year it was annualized with."""
    evaluation = trial.user_attrs["evaluation"]
    sharpe = evaluation["metrics"]["sharpe"]
    return 0.0 if sharpe is None else sharpe / math.sqrt(evaluation["periods_per_year"])


def deflated_sharpes(study: optuna.Study, trials: list[optuna.trial.FrozenTrial]) -> dict[int, float | None]:
    """DSR of each trial's validation Sharpe, by trial number, deflated by every completed trial of the
    study (read once)."""
    sharpes = np.array([per_bar_sharpe(other) for other in completed(study)])
    deflated = {}
    for trial in trials:
        evaluation = trial.user_attrs["evaluation"]
        deflated[trial.number] = deflated_sharpe_ratio(
            per_bar_sharpe(trial), evaluation["metrics"]["bars"], evaluation["skewness"], evaluation["kurtosis"], sharpes
        )
    return deflated


def evaluate_holdout(opened: OpenStudy, workspace: Workspace, front: ParetoFront) -> dict[str, dict]:
    """Holdout metrics of each Pareto member not evaluated yet; returns all results by trial number."""
    results = dict(opened.study.user_attrs.get("holdout", {}))
    predictions = PredictionCache.in_store(workspace.models)
    for trial in front.trials:
        if str(trial.number) in results:
            continue
        candidate = opened.split.holdout(apply_parameters(opened.strategy, trial.user_attrs["parameters"], workspace))
        try:
            metrics = evaluate(candidate, workspace, predictions).metrics
        except CalibrationError as error:
            results[str(trial.number)] = {"error": str(error)}
        else:
            results[str(trial.number)] = {name: metrics[name] for name in SUMMARY_METRICS}
        opened.study.set_user_attr("holdout", results)
    return results
