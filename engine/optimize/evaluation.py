"""How a study judges a strategy: a backtest over the validation period, net of costs.

The last `holdout` fraction of the bars is kept back: no trial sees it, and only the Pareto
members are evaluated there, once, after the search (engine.optimize.holdout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from engine.analytics.metrics import compute_metrics
from engine.analytics.returns import bar_returns
from engine.kernel.node import simulate
from engine.kernel.stage import Stage
from engine.models.walkforward import TrainedFold
from engine.optimize.errors import OptimizeError
from engine.overlays.memo import StageMemo
from engine.signals.cache import PredictionCache
from engine.strategies.schema import Strategy
from engine.usecases.backtest import PreparedStrategy, load_bars, prepare
from engine.usecases.signal_quality import backtest_signal_quality
from engine.workspace import Workspace


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str  # "maximize" or "minimize"

    def value(self, metrics: dict) -> float:
        if self.name == "max_drawdown":
            return abs(metrics["max_drawdown"])
        # A flat equity curve has no Sharpe (zero variance); as a score it earned nothing.
        value = metrics[self.name]
        return 0.0 if value is None else value


OBJECTIVES = {
    "sharpe": Objective("sharpe", "maximize"),
    "sortino": Objective("sortino", "maximize"),
    "calmar": Objective("calmar", "maximize"),
    "max_drawdown": Objective("max_drawdown", "minimize"),  # its size: 0.2 for a 20% drawdown
    "rank_ic": Objective("rank_ic", "maximize"),  # the signal's mean RankIC (engine.analytics.signal_quality)
}


def parse_objectives(names: str) -> list[Objective]:
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in OBJECTIVES]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise OptimizeError(f"--objectives {names!r}: choose distinct names among {', '.join(OBJECTIVES)}")
    return [OBJECTIVES[name] for name in chosen]


@dataclass(frozen=True)
class Split:
    """The validation period (everything up to `validation_end`, inclusive) and the holdout after it."""

    validation_end: str  # YYYY-MM-DD
    holdout_start: str  # YYYY-MM-DD, the next day

    @classmethod
    def of(cls, strategy: Strategy, workspace: Workspace) -> Split:
        index = load_bars(strategy, workspace.data).index()
        if strategy.data.start is not None:
            index = index[index >= pd.Timestamp(strategy.data.start, tz="UTC")]
        last_validation_day = index[int(len(index) * (1 - strategy.optimize.holdout)) - 1].date()
        if last_validation_day >= index[-1].date():
            raise OptimizeError(f"strategy {strategy.name}: too few days for a holdout of {strategy.optimize.holdout:.0%}")
        return cls(str(last_validation_day), str(last_validation_day + timedelta(days=1)))

    def validation(self, strategy: Strategy) -> Strategy:
        return strategy.with_overrides(data={"end": self.validation_end})

    def holdout(self, strategy: Strategy) -> Strategy:
        return strategy.with_overrides(data={"start": self.holdout_start})


def _skewness_and_kurtosis(returns: np.ndarray) -> tuple[float, float]:
    """The returns' skewness and (not excess) kurtosis, the population moments as `scipy.stats`'
    `skew` and `kurtosis(fisher=False)` give them; computed in every trial, where SciPy's wrappers
    cost more than the statistics."""
    deviations = returns - returns.mean()
    squared = deviations * deviations
    variance = squared.mean()
    return float((squared * deviations).mean() / variance**1.5), float((squared * squared).mean() / variance**2)


@dataclass(frozen=True)
class Evaluation:
    metrics: dict
    returns_skewness: float
    returns_kurtosis: float  # not excess: 3 for a normal distribution
    periods_per_year: float  # what the metrics are annualized with


def evaluate(
    strategy: Strategy,
    workspace: Workspace,
    predictions: PredictionCache | None = None,
    on_fold: Callable[[TrainedFold], None] | None = None,
) -> Evaluation:
    """The strategy backtested as `engine backtest` would (whole history, vectorized), metrics net of costs."""
    return judge(prepare(strategy, workspace, on_fold, predictions))


def judge(prepared: PreparedStrategy, stages: Sequence[Stage] | None = None, memo: StageMemo | None = None) -> Evaluation:
    """The prepared strategy's backtest (through `stages` where given, built from it), net of costs,
    with its signal's quality (kept in `memo`, where given, for trials that share the signal)."""
    run = simulate(prepared, stages=stages)
    execution = run.execution
    returns = bar_returns(execution.equity, execution.initial_cash)
    skewness, kurtosis = (0.0, 3.0) if np.ptp(returns) == 0 else _skewness_and_kurtosis(returns)
    return Evaluation(
        compute_metrics(execution, prepared.periods_per_year) | backtest_signal_quality(prepared, run, memo).headline(),
        skewness,
        kurtosis,
        prepared.periods_per_year,
    )
