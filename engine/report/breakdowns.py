"""A run's results broken down: by trade, by walk-forward fold (the model's out-of-sample
classification figures and signal quality), by overlay step (the ablation) and by what the risk gate did, as the
report and the TUI show them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analytics.formatting import format_metric, metric_label
from engine.report.render import Table

FOLD_COLUMNS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "positive_rate", "samples", "rank_ic", "rank_icir")
ABLATION_COLUMNS = ("total_return", "sharpe", "max_drawdown", "trades", "turnover", "costs_paid")


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
    """Each fold's out-of-sample metrics; an ensemble's also names its members' weights for the block."""
    weighted = any("weights" in fold for fold in folds)
    return Table(
        ["fold", "predicts", *map(metric_label, FOLD_COLUMNS), *(["member weights"] if weighted else [])],
        [
            [
                str(fold["fold"]),
                f"{fold['predict_start'][:10]} to {fold['predict_end'][:10]}",
                *(format_metric(name, fold.get(name)) for name in FOLD_COLUMNS),
                *([", ".join(f"{name} {weight:.2f}" for name, weight in fold.get("weights", {}).items())] if weighted else []),
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


def risk_gate_table(risk: dict) -> Table:
    """Each trip, refusal and cut of the risk gate (a run's risk.json): when, which limit, what it did
    and to which targets."""
    rows = [
        [
            event["timestamp"][:16],
            event["limit"],
            event["action"],
            event["reason"],
            ", ".join(f"{symbol} {weight:.2%}" for symbol, weight in event["targets"].items()),
        ]
        for event in risk["events"]
    ]
    return Table(["bar", "limit", "action", "why", "targets as decided"], rows)
