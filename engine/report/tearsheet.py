"""One run's tearsheet: an HTML page that opens offline, a markdown summary and PNG charts.

Everything is read back from the run store (engine.runstore.StoredRun), so `engine report RUN_ID`
renders the same report a backtest wrote. The report goes to `runs/<id>/report/`:

    report.html   self-contained: the charts are embedded as data URIs, the stylesheet inline
    report.md     the tables, with links to the charts
    charts/*.png  equity (linear and log), drawdown, monthly returns, rolling Sharpe and volatility,
                  exposure, gross against net
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.formatting import format_metric
from engine.report import charts
from engine.report.render import Chart, Table, render, write_report_folder
from engine.report.series import drawdown, monthly_returns, rolling_sharpe_and_volatility, rolling_window
from engine.runstore import StoredRun

FOLD_COLUMNS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "positive_rate", "samples")
MARKDOWN_TRADES = 50  # the markdown summary lists the first trades; the HTML lists them all
ABLATION_COLUMNS = ("total_return", "sharpe", "max_drawdown", "trades", "turnover", "costs_paid")


def metrics_columns(run: StoredRun) -> dict[str, dict]:
    """The strategy's metrics beside each baseline's, keyed by column title."""
    return {run.manifest["strategy"]: run.metrics["strategy"], **run.metrics["baselines"]}


def period(metrics: dict) -> str:
    return f"{format_metric('start', metrics['start'])} to {format_metric('end', metrics['end'])}"


def metrics_table(columns: dict[str, dict]) -> Table:
    names = list(next(iter(columns.values())))
    return Table(
        ["metric", *columns],
        [[name, *(format_metric(name, metrics.get(name)) for metrics in columns.values())] for name in names],
    )


def trade_costs(trades: pd.DataFrame, slippage: float) -> pd.Series:
    """Commission plus slippage of each round trip.

    A buy fills at open × (1 + s), a sell at open × (1 − s) (engine.execution.conventions), so a
    fill at `price` paid price × s / (1 ± s) per share in slippage.
    """
    long = trades["direction"] == "long"
    buy_rate, sell_rate = slippage / (1 + slippage), slippage / (1 - slippage)
    entry = trades["entry_price"] * np.where(long, buy_rate, sell_rate)
    exit_ = (trades["exit_price"] * np.where(long, sell_rate, buy_rate)).where(trades["status"] == "closed", 0.0)
    return trades["fees"] + trades["size"].abs() * (entry + exit_)


def trade_table(trades: pd.DataFrame, last_bar: pd.Timestamp, slippage: float) -> Table:
    costs = trade_costs(trades, slippage)
    rows = []
    for trade, cost in zip(trades.to_dict("records"), costs, strict=True):
        closed = trade["status"] == "closed"
        held = (trade["exit_time"] if closed else last_bar) - trade["entry_time"]
        bars = f"{trade['holding_bars']} bars"
        rows.append(
            [
                trade["symbol"],
                trade["direction"],
                format_metric("start", trade["entry_time"]),
                format_metric("end", trade["exit_time"]) if closed else "open",
                f"{trade['return']:.2%}",
                f"{bars} ({held.days} d)" if held.days else bars,
                f"{trade['pnl']:,.2f}",
                f"{cost:,.2f}",
            ]
        )
    return Table(["symbol", "side", "entry", "exit", "return", "held", "P&L", "costs"], rows)


def fold_table(folds: list[dict]) -> Table:
    return Table(
        ["fold", "predicts", *FOLD_COLUMNS],
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
        ["step", "overlays", *ABLATION_COLUMNS],
        [
            [step["step"], ", ".join(step["overlays"]) or "–", *(format_metric(name, step[name]) for name in ABLATION_COLUMNS)]
            for step in steps
        ],
    )


def calibration_tables(searches: list[dict]) -> list[tuple[str, Table]]:
    """Each threshold calibration: a caption (window, choice) and every candidate pair with its trades and Sharpe."""
    shown = []
    for search in searches:
        chosen = (search["chosen"]["entry"], search["chosen"]["exit"])
        caption = (
            f"overlays[{search['overlay']}]: candidates backtested on "
            f"{format_metric('start', search['validation_start'])} to {format_metric('end', search['validation_end'])}; "
            f"chosen entry {chosen[0]:g}, exit {chosen[1]:g} (best net Sharpe)"
        )
        rows = [
            [
                f"{trial['entry']:g}",
                f"{trial['exit']:g}",
                format_metric("trades", trial["trades"]),
                format_metric("sharpe", trial["sharpe"]),
                "chosen" if (trial["entry"], trial["exit"]) == chosen else "",
            ]
            for trial in search["trials"]
        ]
        shown.append((caption, Table(["entry", "exit", "trades", "sharpe", ""], rows)))
    return shown


def draw_charts(run: StoredRun, folder: Path) -> list[Chart]:
    frame = run.equity.set_index("timestamp")
    initial = run.metrics["strategy"]["initial_cash"]
    periods = run.config["periods_per_year"]
    name = run.manifest["strategy"]
    curves = {f"{name} (net)": frame["equity"]}
    if run.baselines is not None:
        curves |= {column: series for column, series in run.baselines.set_index("timestamp").items()}
    window = rolling_window(periods)
    return [
        Chart("Equity", charts.line_chart(folder / "equity.png", curves, "equity")),
        Chart("Equity, log scale", charts.line_chart(folder / "equity_log.png", curves, "equity (log scale)", log=True)),
        Chart(
            "Drawdown",
            charts.line_chart(
                folder / "drawdown.png",
                {label: drawdown(series, initial) for label, series in curves.items()},
                "drawdown",
                percent=True,
            ),
        ),
        Chart(
            "Monthly returns", charts.monthly_heatmap(folder / "monthly_returns.png", monthly_returns(frame["equity"], initial))
        ),
        Chart(
            "Rolling Sharpe and volatility",
            charts.rolling_chart(
                folder / "rolling.png", rolling_sharpe_and_volatility(frame["equity"], initial, periods), window
            ),
        ),
        Chart(
            "Exposure",
            charts.line_chart(
                folder / "exposure.png", {"gross exposure": frame["gross_exposure"]}, "gross exposure (of equity)", percent=True
            ),
        ),
        Chart(
            "Gross against net",
            charts.gross_net_chart(folder / "gross_net.png", frame["gross_equity"], frame["net_equity"], frame["costs_paid"]),
        ),
    ]


def write_tearsheet(run: StoredRun) -> Path:
    """Write `report/` into the run's folder (replacing an earlier one); returns the HTML's path."""
    strategy = run.config["strategy"]
    metrics = run.metrics["strategy"]
    trades = trade_table(run.trades, run.equity["timestamp"].iloc[-1], strategy["costs"]["slippage_bps"] / 1e4)

    def build(folder: Path) -> None:
        context = {
            "run": run,
            "strategy": strategy,
            "period": period(metrics),
            "metrics": metrics_table(metrics_columns(run)),
            "gross_net": metrics_table(
                {
                    "": {
                        name: metrics[name]
                        for name in ("gross_total_return", "net_total_return", "commission_paid", "slippage_paid", "costs_paid")
                    }
                }
            ),
            "charts": draw_charts(run, folder / "charts"),
            "trades": trades,
            "trades_preview": Table(trades.columns, trades.rows[:MARKDOWN_TRADES]),
            "folds": None if run.folds is None else fold_table(run.folds),
            "ablation": None if run.ablation is None else ablation_table(run.ablation),
            "calibration": calibration_tables(run.calibration or []),
            "warnings": run.metrics.get("warnings", []),  # runs stored before warnings existed have none
            "config": run.config,
            "manifest": run.manifest,
        }
        render("tearsheet.html.j2", context, folder / "report.html", folder)
        render("tearsheet.md.j2", context, folder / "report.md", folder)

    return write_report_folder(run.path / "report", build) / "report.html"
