"""How a metric, or a count of things, is written for people: one rule shared by the terminal tables,
progress lines and the reports."""

from __future__ import annotations


def counted(number: float, noun: str) -> str:
    """`number` and `noun`, plural unless there is one: "1 article", "3 articles", "0.5 hours"."""
    return f"{number:g} {plural(number, noun)}"


def plural(number: float, noun: str) -> str:
    return noun if number == 1 else f"{noun}s"


PERCENT = {
    "total_return",
    "cagr",
    "annual_volatility",
    "max_drawdown",
    "exposure",
    "time_in_market",
    "win_rate",
    "avg_trade_return",
    "gross_total_return",
    "net_total_return",
    "alpha",
    "value_at_risk",
    "conditional_value_at_risk",
    "worst_bar",
    "best_bar",
}
MONEY = {"initial_cash", "final_equity", "commission_paid", "slippage_paid", "costs_paid"}
MISSING = "–"


def format_metric(name: str, value) -> str:
    if value is None:
        return MISSING
    if name in ("start", "end"):
        return str(value)[:16].removesuffix(" 00:00")
    if name in PERCENT:
        return f"{value:.2%}"
    if name in MONEY:
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# What a report calls each metric; a name not listed is shown with spaces for underscores.
LABELS = {
    "initial_cash": "initial cash",
    "final_equity": "final equity",
    "total_return": "total return",
    "cagr": "CAGR (compound annual growth)",
    "annual_volatility": "annual volatility",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "calmar": "Calmar ratio",
    "max_drawdown": "maximum drawdown",
    "max_drawdown_duration_bars": "longest drawdown",
    "exposure": "mean gross exposure",
    "turnover": "annual turnover",
    "trades": "trades (round trips)",
    "avg_trade_return": "average trade return",
    "gross_total_return": "gross total return (no costs)",
    "net_total_return": "net total return",
    "information_ratio": "information ratio",
    "value_at_risk": "VaR 95% (historical, per bar)",
    "conditional_value_at_risk": "CVaR 95% (historical, per bar)",
    "worst_bar": "worst bar",
    "best_bar": "best bar",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "f1": "F1",
    "ic": "IC",
    "icir": "ICIR",
    "rank_ic": "RankIC",
    "rank_icir": "RankICIR",
}


def metric_label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def format_days(days: float) -> str:
    """A duration in calendar days: whole days, or tenths below a day (intraday bars)."""
    shown = round(days) if days >= 1 else round(days, 1)
    return f"{shown:g} day" + ("" if shown == 1 else "s")
