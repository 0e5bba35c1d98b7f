"""Performance metrics of a run, from its equity marks and its trades.

Return statistics come from vectorbt's return kernels; trade statistics from its position records
(round trips, an open one marked at the last close). Annualization uses the strategy's bars per
year, whatever the spacing of the timestamps (nights and weekends are not bars).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from vectorbt.returns import nb as returns_nb

from engine.analytics.returns import bar_returns
from engine.execution.result import ExecutionResult


def drawdown_duration(equity: np.ndarray) -> int:
    """The longest run of bars spent below a previous equity peak."""
    underwater = equity < np.maximum.accumulate(equity)
    bar = np.arange(len(equity))
    last_at_peak = np.maximum.accumulate(np.where(underwater, -1, bar))
    return int((bar - last_at_peak).max(initial=0))


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def return_metrics(equity: np.ndarray, initial_cash: float, periods_per_year: float) -> dict[str, float | None]:
    # vectorbt's kernels rather than its returns accessor: the same figures without the accessor's
    # set-up, which cost more than the rest of an optimization trial's metrics together. Their default
    # arguments (levy alpha 2, ddof 1, risk-free and required return 0) are passed: numba dispatches
    # a call that omits some through its compiler's slow path, every time.
    returns = bar_returns(equity, initial_cash)
    years = len(equity) / periods_per_year
    total = equity[-1] / initial_cash - 1.0
    cagr = (equity[-1] / initial_cash) ** (1.0 / years) - 1.0 if equity[-1] > 0 else -1.0
    max_drawdown = float(np.min(equity / np.maximum.accumulate(np.concatenate([[initial_cash], equity]))[1:] - 1.0))
    max_drawdown = min(max_drawdown, 0.0)
    return {
        "total_return": _finite(total),
        "cagr": _finite(cagr),
        "annual_volatility": _finite(returns_nb.annualized_volatility_1d_nb(returns, periods_per_year, 2.0, 1)),
        "sharpe": _finite(returns_nb.sharpe_ratio_1d_nb(returns, periods_per_year, 0.0, 1)),
        "sortino": _finite(returns_nb.sortino_ratio_1d_nb(returns, periods_per_year, 0.0)),
        "calmar": _finite(cagr / abs(max_drawdown)) if max_drawdown < 0 else None,
        "max_drawdown": _finite(max_drawdown),
        "max_drawdown_duration_bars": int(drawdown_duration(np.concatenate([[initial_cash], equity]))),
    }


def trade_table(result: ExecutionResult) -> pd.DataFrame:
    """Round-trip trades per symbol: entry, exit (or open), size, prices, fees, P&L and return."""
    records = result.position_records
    index = result.bars.index()
    exit_open = records["status"] == 0  # vectorbt TradeStatus.Open
    return pd.DataFrame(
        {
            "symbol": np.array(result.bars.symbols, dtype=object)[records["col"]],
            "direction": np.where(records["direction"] == 0, "long", "short"),
            "entry_time": index[records["entry_idx"]],
            "exit_time": index[records["exit_idx"]].where(~exit_open, pd.NaT),
            "size": records["size"],
            "entry_price": records["entry_price"],
            "exit_price": records["exit_price"],
            "fees": records["entry_fees"] + records["exit_fees"],
            "pnl": records["pnl"],
            "return": records["return"],
            "holding_bars": records["exit_idx"] - records["entry_idx"],
            "status": np.where(exit_open, "open", "closed"),
        }
    )


def trade_metrics(records: np.ndarray) -> dict[str, float | int | None]:
    """From vectorbt's position records (the rows of `trade_table`), without building the table:
    an optimization trial computes these for every parameter set."""
    pnl, returns = records["pnl"], records["return"]
    wins, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    known = ~np.isnan(returns)
    with np.errstate(invalid="ignore"):  # every return unknown: no average (None)
        average = np.where(known, returns, 0.0).sum() / known.sum()
    return {
        "trades": int(len(records)),
        "win_rate": _finite((pnl > 0).mean()) if len(pnl) else None,
        "profit_factor": _finite(wins / losses) if losses > 0 else None,
        # As pandas' mean takes it: NaN left out (filled with zero in the sum, not counted).
        "avg_trade_return": _finite(average) if len(pnl) else None,
    }


def compute_metrics(result: ExecutionResult, periods_per_year: float) -> dict[str, float | int | str | None]:
    equity, initial = result.equity, result.initial_cash
    # The fills' arrays, not their table: an optimization trial computes these for every parameter set.
    fills = result.executed
    size, price, fees, slippage_cost = fills.size, fills.price, fills.fees, fills.slippage_cost
    years = len(equity) / periods_per_year
    traded = float((size * price).sum())
    gross_exposure = result.gross_exposure
    commission, slippage = float(fees.sum()), float(slippage_cost.sum())
    stamps = result.bars.timestamps
    metrics: dict[str, float | int | str | None] = {
        "start": str(pd.Timestamp(stamps[0], tz="UTC")),
        "end": str(pd.Timestamp(stamps[-1], tz="UTC")),
        "bars": int(len(equity)),
        "initial_cash": initial,
        "final_equity": _finite(equity[-1]),
        **return_metrics(equity, initial, periods_per_year),
        "exposure": _finite(gross_exposure.mean()),
        "time_in_market": _finite((gross_exposure > 1e-12).mean()),
        "turnover": _finite(traded / equity.mean() / years),
        **trade_metrics(result.position_records),
        "orders_filled": int(len(size)),
        "commission_paid": commission,
        "slippage_paid": slippage,
        "costs_paid": commission + slippage,
        "gross_total_return": _finite(result.gross_equity[-1] / initial - 1.0),
        "net_total_return": _finite(equity[-1] / initial - 1.0),
    }
    return metrics
