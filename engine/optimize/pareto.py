"""The Pareto front as a study reports it: feasible trials that traded, each parameter set once.

Optuna's own front (`study.best_trials`) counts a trial that never traded: its drawdown of zero
cannot be beaten, so a strategy that can stay flat would have "no trades" named a best result.
Such trials are left out of the front here, and counted. A sampler may propose a parameter set
again (NSGA-II on stepped ranges often does); the repeats are one member, listed under its first
trial. What remains is flagged where it rests on too few trades (engine.analytics.plausibility).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from engine.analytics.formatting import counted
from engine.analytics.plausibility import MIN_TRADES
from engine.optimize.summary import completed, feasible


@dataclass(frozen=True)
class ParetoMember:
    trial: FrozenTrial  # the first trial with these parameters
    repeats: tuple[int, ...]  # later trials with the same parameters, and so the same results


@dataclass(frozen=True)
class ParetoFront:
    members: list[ParetoMember]
    untraded: int  # completed trials that made no trade, left out
    completed: int

    @property
    def trials(self) -> list[FrozenTrial]:
        return [member.trial for member in self.members]


def validation_trades(trial: FrozenTrial) -> int:
    return trial.user_attrs["evaluation"]["metrics"]["trades"]


def traded_trials(study: optuna.Study) -> list[FrozenTrial]:
    return [trial for trial in completed(study) if validation_trades(trial) > 0]


def best_by_objective(trials: list[FrozenTrial], objectives: list) -> list[FrozenTrial] | None:
    """Each objective's best trial among the completed ones that traded and are feasible (staying
    flat is no best drawdown; a trial short of the minimum trades is no best Sharpe); None when no
    trial qualifies."""
    eligible = [
        trial for trial in trials if trial.state == TrialState.COMPLETE and validation_trades(trial) > 0 and feasible(trial)
    ]
    if not eligible:
        return None
    return [
        (max if objective.direction == "maximize" else min)(eligible, key=lambda trial, index=index: trial.values[index])
        for index, objective in enumerate(objectives)
    ]


def traded_study(study: optuna.Study) -> optuna.Study:
    """The completed trials that traded, copied into an in-memory study, for Optuna's front and plots."""
    return _in_memory(study, traded_trials(study))


def _in_memory(study: optuna.Study, trials: list[FrozenTrial]) -> optuna.Study:
    """`trials` copied into an in-memory study, which numbers them afresh: its trial i is trials[i]."""
    copy = optuna.create_study(directions=study.directions)
    copy.add_trials(trials)
    return copy


def pareto_front(study: optuna.Study) -> ParetoFront:
    """Optuna's front (feasible trials only) among the trials that traded, by trial number, repeats merged.
    The trials are read once: workers may be adding more meanwhile."""
    traded = traded_trials(study)
    best = sorted((traded[trial.number] for trial in _in_memory(study, traded).best_trials), key=lambda trial: trial.number)
    by_parameters: dict[str, list[FrozenTrial]] = {}
    for trial in best:
        by_parameters.setdefault(json.dumps(trial.user_attrs["parameters"], sort_keys=True), []).append(trial)
    members = [ParetoMember(first, tuple(repeat.number for repeat in rest)) for first, *rest in by_parameters.values()]
    done = len(completed(study))
    return ParetoFront(members, done - len(traded), done)


def front_warnings(front: ParetoFront, holdout: dict[str, dict]) -> list[str]:
    """What the front rests on: trials left out for making no trade, members with too few trades."""
    warnings = []
    if front.untraded:
        warnings.append(
            f"{front.untraded} of {front.completed} completed trials made no trades and are left out of the Pareto front: "
            "staying flat is not a result"
        )
    trades = {
        "validation": {member.trial.number: validation_trades(member.trial) for member in front.members},
        "holdout": {member.trial.number: holdout.get(str(member.trial.number), {}).get("trades") for member in front.members},
    }
    for period, counts in trades.items():
        thin = [
            f"trial {number} ({counted(count, 'trade')})"
            for number, count in counts.items()
            if count is not None and count < MIN_TRADES
        ]
        if thin:
            members = ", ".join(thin)
            warnings.append(f"the {period} figures rest on fewer than {MIN_TRADES} trades for {members}: too few to judge by")
    for member in front.members:
        error = holdout.get(str(member.trial.number), {}).get("error")
        if error:
            warnings.append(f"trial {member.trial.number} has no holdout figures: {error}")
    return warnings
