"""The vectorized backtester: the whole order history through vectorbt in one call.

`Portfolio.from_orders` does the work. A minimum commission cannot be expressed there (fees are
rate x notional + a fixed amount), so with one the same orders go through `from_order_func`,
whose order function sets each order's fee terms as the broker does (`commission_terms_nb`).

vectorbt simulates a history in one call and cannot resume from a carried position, so this stage
collects the order batches of every chunk and simulates once the feed ends. The orders it sees are
the same, bar for bar, whatever the chunk size; so are its fills.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import vectorbt as vbt
from numba import njit
from vectorbt.portfolio import nb as vbt_nb
from vectorbt.portfolio.enums import OrderSide, SizeType

from engine.bars import Bars
from engine.bus import EventBus
from engine.events import EndOfData, OrderBatch
from engine.execution.conventions import ExecutionRules, commission_terms_nb, fill_bar_orders
from engine.execution.result import FILL_COLUMNS, ExecutionResult
from engine.topics import END, ORDERS


def simulate(bars: Bars, order_weights: np.ndarray, rules: ExecutionRules) -> vbt.Portfolio:
    """Fill each bar's orders at the next bar's open under `rules`; mark at the close."""
    size = fill_bar_orders(order_weights)
    if rules.min_commission <= 0:
        return vbt.Portfolio.from_orders(
            close=bars.close, size=size, price=bars.open, val_price=bars.open, freq="1D", **rules.vectorbt_order_kwargs()
        )
    opens = np.ascontiguousarray(bars.open)
    return vbt.Portfolio.from_order_func(
        bars.close,
        _order_at_open_nb,
        size,
        opens,
        np.asarray(rules.direction),
        rules.commission,
        rules.slippage,
        rules.min_commission,
        rules.size_granularity,
        pre_segment_func_nb=_value_at_open_nb,
        pre_segment_args=(size, opens, np.asarray(rules.direction), np.empty(size.shape[1])),
        init_cash=rules.initial_cash,
        cash_sharing=True,
        group_by=True,
        freq="1D",
    )


@njit(cache=True)
def _value_at_open_nb(c, size, opens, direction, order_value_out):
    """Before a bar's orders: value the account at the open, then put sells before buys."""
    for column in range(c.from_col, c.to_col):
        c.last_val_price[column] = opens[c.i, column]
    vbt_nb.sort_call_seq_nb(c, size, np.asarray(SizeType.TargetPercent), direction, order_value_out[c.from_col : c.to_col])
    return ()


@njit(cache=True)
def _order_at_open_nb(c, size, opens, direction, commission, slippage, min_commission, granularity):
    weight = size[c.i, c.col]
    if np.isnan(weight):
        return vbt_nb.order_nothing_nb()
    price = opens[c.i, c.col]
    fees, fixed_fees = commission_terms_nb(weight, c.value_now, c.position_now, price, commission, slippage, min_commission)
    return vbt_nb.order_nb(
        size=weight,
        price=price,
        size_type=SizeType.TargetPercent,
        direction=direction.item(),
        fees=fees,
        fixed_fees=fixed_fees,
        slippage=slippage,
        size_granularity=granularity,
    )


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
