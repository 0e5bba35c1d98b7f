"""The vectorized backtester: the whole order history through one compiled loop.

`_simulate_nb` runs every bar's orders through `execute_bar_nb`, the kernel the event-driven
broker runs too, and hands vectorbt's order records to a `vbt.Portfolio`. (`Portfolio.from_orders`
cannot shrink competing buys in proportion: it lets the last in its call sequence shrink.)

The simulation takes the whole history in one call, so this stage collects the order batches of
every chunk and simulates once the feed ends. The orders it sees are the same, bar for bar,
whatever the chunk size; so are its fills.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import vectorbt as vbt
from numba import njit
from vectorbt.base.array_wrapper import ArrayWrapper
from vectorbt.portfolio.enums import OrderSide, log_dt, order_dt

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import EndOfData, OrderBatch
from engine.execution.conventions import ExecutionRules, OrderTerms, execute_bar_nb, fill_bar_orders
from engine.execution.result import FILL_COLUMNS, ExecutionResult
from engine.topics import END, ORDERS


def simulate(bars: Bars, order_weights: np.ndarray, rules: ExecutionRules) -> vbt.Portfolio:
    """Fill each bar's orders at the next bar's open under `rules`; mark at the close."""
    records = _simulate_nb(fill_bar_orders(order_weights), bars.open, rules.initial_cash, rules.terms)
    close = pd.DataFrame(bars.close)
    return vbt.Portfolio(
        ArrayWrapper.from_obj(close, freq="1D", group_by=True),
        close,
        records,
        np.empty(0, dtype=log_dt),
        np.array([rules.initial_cash]),
        cash_sharing=True,
    )


@njit(cache=True)
def _simulate_nb(size: np.ndarray, opens: np.ndarray, initial_cash: float, terms: OrderTerms) -> np.ndarray:
    """vectorbt order records of every bar's orders (`size`: target weights, NaN for none) filled at its open."""
    cash = free_cash = initial_cash
    position = np.zeros(size.shape[1])
    debt = np.zeros(size.shape[1])
    records = np.empty(np.sum(~np.isnan(size)), dtype=order_dt)
    n_records = 0
    for i in range(size.shape[0]):
        if not np.isnan(size[i]).all():  # as the broker, which executes only bars with orders
            cash, free_cash, n_records = execute_bar_nb(
                i, size[i], opens[i], cash, free_cash, position, debt, terms, records, n_records
            )
    return records[:n_records]


class VectorizedExecution:
    def __init__(self, bus: EventBus, rules: ExecutionRules) -> None:
        self.rules = rules
        self._bars: list[Bars] = []
        self._orders: list[np.ndarray] = []
        self._result: ExecutionResult | None = None
        bus.subscribe(ORDERS, self.on_orders)
        bus.subscribe(END, self.on_end)

    def on_orders(self, event: OrderBatch) -> None:
        self._bars.append(event.bars)
        self._orders.append(event.target_weights)

    def on_end(self, event: EndOfData) -> None:
        bars = Bars.concat(self._bars)
        order_weights = np.concatenate(self._orders)
        portfolio = simulate(bars, order_weights, self.rules)
        self._result = result_from_portfolio(bars, order_weights, portfolio, self.rules.initial_cash)

    def result(self) -> ExecutionResult:
        if self._result is None:
            raise RuntimeError("the vectorized backtest runs when the feed ends; it has not ended")
        return self._result


def result_from_portfolio(
    bars: Bars, order_weights: np.ndarray, portfolio: vbt.Portfolio, initial_cash: float
) -> ExecutionResult:
    records = portfolio.order_records  # in execution order: bar by bar, sells before buys
    bar, column = records["idx"].astype(np.int64), records["col"].astype(np.int64)
    fills = pd.DataFrame(
        {
            "timestamp": bars.index()[bar],
            "decided_at": bars.index()[bar - 1],
            "symbol": np.array(bars.symbols, dtype=object)[column],
            "side": np.where(records["side"] == OrderSide.Buy, "buy", "sell"),
            "size": records["size"],
            "price": records["price"],
            "fees": records["fees"],
            "slippage_cost": records["size"] * np.abs(records["price"] - bars.open[bar, column]),
            "target_weight": order_weights[bar - 1, column],
        },
        columns=FILL_COLUMNS,
    )
    positions, cash = _holdings(bars, bar, column, records, initial_cash)
    return ExecutionResult(
        bars=bars,
        equity=cash + (positions * bars.close).sum(axis=1),
        cash=cash,
        positions=positions,
        fills=fills,
        fill_bars=bar,
        fill_columns=column,
        initial_cash=initial_cash,
    )


def _holdings(
    bars: Bars, bar: np.ndarray, column: np.ndarray, records: np.ndarray, initial_cash: float
) -> tuple[np.ndarray, np.ndarray]:
    """Shares per symbol and cash at each close, from the fill records (cheaper than vectorbt's
    wrapped `assets()`/`cash()`, which rebuild pandas objects)."""
    sign = np.where(records["side"] == OrderSide.Buy, 1.0, -1.0)
    shares = np.zeros(bars.shape)
    np.add.at(shares, (bar, column), sign * records["size"])
    cash_flow = np.zeros(len(bars))
    np.add.at(cash_flow, bar, -sign * records["size"] * records["price"] - records["fees"])
    return np.cumsum(shares, axis=0), initial_cash + np.cumsum(cash_flow)
