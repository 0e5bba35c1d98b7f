"""Reading a study back: completed and failed trials, feasibility, parameter importances (the front: pareto.py)."""

from __future__ import annotations

import warnings

import optuna
from optuna.trial import FrozenTrial, TrialState


def completed(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def failed(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.FAIL,))


def feasible(trial: FrozenTrial) -> bool:
    return all(value <= 0.0 for value in trial.constraints.values())


def loss(study: optuna.Study, index: int):
    """Objective `index` as a value to lower, which Optuna's default importance evaluator (PED-ANOVA) expects."""
    sign = -1.0 if study.directions[index] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return lambda trial: sign * trial.values[index]


def importances(study: optuna.Study) -> dict[str, dict[str, float]]:
    """Per objective: how much each parameter matters for reaching good values of it."""
    trials = completed(study)
    if len(trials) < 2 or not any(trial.params != trials[0].params for trial in trials):
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PED-ANOVA's reminder that it ranks low values: `loss` sees to that
        return {
            name: optuna.importance.get_param_importances(study, target=loss(study, index))
            for index, name in enumerate(study.user_attrs["objectives"])
        }


def counts(study: optuna.Study) -> dict[str, int]:
    trials = study.get_trials(deepcopy=False)
    return {state.name.lower(): sum(trial.state == state for trial in trials) for state in TrialState}
