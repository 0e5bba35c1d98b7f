"""The tearsheet's tables beside buy-and-hold: benchmark-relative metrics, yearly returns, the
worst drawdowns and the return distribution, each computed from stored equity curves."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from engine.analytics.formatting import format_days, format_metric, metric_label
from engine.analytics.relative_metrics import relative_metrics
from engine.analytics.return_distribution import distribution_metrics
from engine.analytics.returns import bar_returns
from engine.report.drawdowns import drawdown_periods, worst_drawdowns
from engine.report.render import Table
from engine.report.series import yearly_returns

BENCHMARK = "buy & hold"


@dataclass(frozen=True)
class Curve:
    """One equity curve of a run (the strategy's or a baseline's) and the cash it started from."""

    name: str
    equity: pd.Series  # net equity at each close, indexed by UTC timestamp
    initial_cash: float

    @cached_property
    def returns(self) -> np.ndarray:
        return bar_returns(self.equity.to_numpy(dtype=np.float64), self.initial_cash)

    @cached_property
    def drawdowns(self) -> pd.DataFrame:
        return drawdown_periods(self.equity, self.initial_cash)


def duration(bars: int, days: float) -> str:
    return f"{bars} bars ({format_days(days)})"


def relative_table(curves: list[Curve], benchmark: Curve, periods_per_year: float) -> Table:
    """Alpha, beta, correlation and information ratio of each curve against the benchmark's returns."""
    figures = {curve.name: relative_metrics(curve.returns, benchmark.returns, periods_per_year) for curve in curves}
    return _metric_rows(figures)


def distribution_table(curves: list[Curve]) -> Table:
    return _metric_rows({curve.name: distribution_metrics(curve.returns) for curve in curves})


def _metric_rows(figures: dict[str, dict]) -> Table:
    names = list(next(iter(figures.values())))
    return Table(
        ["metric", *figures],
        [[metric_label(name), *(format_metric(name, values[name]) for values in figures.values())] for name in names],
    )


def yearly_table(curves: list[Curve], benchmark: Curve) -> Table:
    """Each calendar year's return per curve, and the strategy's (the first curve's) less the benchmark's."""
    years = {curve.name: yearly_returns(curve.equity, curve.initial_cash) for curve in curves}
    strategy = years[curves[0].name]
    difference = strategy["return"] - years[benchmark.name]["return"]
    rows = [
        [str(year), str(bars), *(f"{table.loc[year, 'return']:.2%}" for table in years.values()), f"{difference[year]:+.2%}"]
        for year, bars in strategy["bars"].items()
    ]
    return Table(["year", "bars", *years, f"{curves[0].name} − {benchmark.name}"], rows)


def drawdown_table(curve: Curve) -> Table:
    """The deepest spells below a previous peak: depth, peak, valley, recovery, time under water."""
    rows = [
        [
            f"{period.depth:.2%}",
            format_metric("start", period.peak),
            format_metric("start", period.valley),
            format_metric("end", period.recovery) if pd.notna(period.recovery) else "not recovered",
            duration(period.bars, period.days),
        ]
        for period in worst_drawdowns(curve.drawdowns).itertuples()
    ]
    return Table(["depth", "peak", "valley", "recovery", "under water"], rows)
