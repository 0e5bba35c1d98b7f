"""How a metric is written for people: one rule shared by the terminal tables and the reports."""

from __future__ import annotations

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
