"""Several runs side by side in one HTML page: metrics, growth of one unit, drawdowns, settings.

Written to `runs/comparisons/<key>/report.html`, the key naming the set of runs, so comparing the
same runs again replaces that report.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.report import charts
from engine.report.drawdowns import drawdown_periods, longest_drawdown_days
from engine.report.render import Chart, Table, render, write_report_folder
from engine.report.series import drawdown
from engine.report.tearsheet import metrics_table, period
from engine.stores.runs import StoredRun


def comparison_key(runs: list[StoredRun]) -> str:
    return hashlib.sha256("\n".join(sorted(run.run_id for run in runs)).encode()).hexdigest()[:12]


def settings_table(runs: list[StoredRun]) -> Table:
    rows = {
        "strategy": lambda run: run.manifest["strategy"],
        "symbols": lambda run: ", ".join(run.config["strategy"]["data"]["symbols"]),
        "timeframe": lambda run: run.config["strategy"]["data"]["timeframe"],
        "period": lambda run: period(run.metrics["strategy"]),
        "costs (bps)": lambda run: (
            f"{run.config['strategy']['costs']['commission_bps']:g} + {run.config['strategy']['costs']['slippage_bps']:g}"
        ),
        "execution": lambda run: run.config["execution"],
        "data fingerprint": lambda run: run.manifest["data"]["fingerprint"][:16],
    }
    return Table(["", *(run.run_id for run in runs)], [[name, *(value(run) for run in runs)] for name, value in rows.items()])


SUMMARY = ("gross_total_return", "net_total_return", "sharpe", "rank_ic", "max_drawdown", "trades")
BUY_AND_HOLD = "buy & hold"


def summary_rows(runs: list[StoredRun]) -> list[tuple[str, str, str, dict]]:
    """(run, strategy, period, figures) for each run, then buy-and-hold once for each period the runs
    cover (a run's baseline holds its symbols over its own traded period): the SUMMARY figures, the
    signal's RankIC where its run measured one (None for buy-and-hold)."""
    rows, baselines = [], {}
    for run in runs:
        strategy = run.metrics["strategy"]
        quality = run.signal_quality
        rank_ic = None if quality is None else quality["overall"]["rank_ic"]
        rows.append((run.run_id, run.manifest["strategy"], period(strategy), {**strategy, "rank_ic": rank_ic}))
        baseline = run.metrics["baselines"][BUY_AND_HOLD]
        baselines.setdefault(period(baseline), baseline)
    return rows + [("", BUY_AND_HOLD, span, {**baseline, "rank_ic": None}) for span, baseline in baselines.items()]


def period_warning(runs: list[StoredRun]) -> str | None:
    """Why the runs' figures are not like for like, when they cover different periods."""
    periods = {period(run.metrics["strategy"]) for run in runs}
    if len(periods) == 1:
        return None
    return (
        f"these runs cover {len(periods)} different periods ({'; '.join(sorted(periods))}): "
        "their returns, ratios and drawdowns come from different markets, not only from different strategies"
    )


def write_comparison(runs: list[StoredRun], root: Path) -> Path:
    """Write the comparison under `root/comparisons/`; returns the HTML's path."""
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    growth = {}
    drawdowns = {}
    drawdown_days = {}
    for run in runs:
        equity = run.equity.set_index("timestamp")["equity"]
        initial = run.metrics["strategy"]["initial_cash"]
        growth[run.run_id] = equity / initial
        drawdowns[run.run_id] = drawdown(equity, initial)
        drawdown_days[run.run_id] = longest_drawdown_days(drawdown_periods(equity, initial))

    def build(folder: Path) -> None:
        context = {
            "runs": runs,
            "metrics": metrics_table({run.run_id: run.metrics["strategy"] for run in runs}, drawdown_days),
            "settings": settings_table(runs),
            "period_warning": period_warning(runs),
            "charts": [
                Chart("Growth of one unit", charts.line_chart(folder / "charts" / "growth.png", growth, "growth of 1")),
                Chart(
                    "Growth of one unit, log scale",
                    charts.line_chart(folder / "charts" / "growth_log.png", growth, "growth of 1 (log scale)", log=True),
                ),
                Chart(
                    "Drawdown",
                    charts.line_chart(folder / "charts" / "drawdown.png", drawdowns, "drawdown", percent=True),
                ),
            ],
        }
        render("compare.html.j2", context, folder / "report.html", folder)

    return write_report_folder(root / "comparisons" / comparison_key(runs), build) / "report.html"
