"""The execution conventions, in one place (DESIGN §3).

- A target decided at bar t's close becomes an order only when it differs from the target at t-1
  (a held target is not re-balanced as prices drift), and fills at bar t+1's open.
- Target weights are of portfolio equity valued at that open; all symbols share one cash account.
- Buys fill at open x (1 + slippage), sells at open x (1 - slippage).
- Commission = rate x traded notional, per side, and at least `min_commission` per order. The
  minimum is decided on the order's intended notional (its target against the position, at the
  open with slippage): below min_commission / rate the order pays the minimum as a fixed fee. A
  buy that cash then shrinks keeps the terms chosen for its intended size.
- Within a bar, sells go before buys (orders sorted by value) so that sales fund purchases.
- When cash (after the bar's sells) cannot cover the bar's buys and their costs, every buy shrinks
  by the same factor, chosen so that their notionals, commission (a minimum as a fixed fee) and
  slippage spend the cash; so no symbol is favoured for where it is listed. A lone buy shrinks to
  what cash covers, costs included. Nothing borrows: long/flat by default; short only when the
  strategy allows it.
- Fractional shares by default; whole shares (rounded down, after any shrinking) as an option.
- Equity is marked at each bar's close.
- Sizing (`execution.size_at`): by default a target weight is of equity at the open it fills at.
  With `size_at = "close"` it is turned into shares at the close it was decided on, as a live
  broker must before the next open is known: the shares the bar's orders would trade if they
  filled at that close under every rule above (`size_at_close_nb`). Those shares then trade at the
  open, sells first, the buys shrunk by one factor when cash cannot cover them
  (`execute_shares_bar_nb`); `engine sandbox` fills Alpaca orders through the same kernel.

Both execution paths execute each bar with `execute_bar_nb`, which applies these rules through
vectorbt's own order kernel (`execute_order_nb`), so the vectorized backtest and the event-driven
broker fill identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit
from vectorbt.portfolio import nb as vbt_nb
from vectorbt.portfolio.enums import Direction, Order, OrderStatus, ProcessOrderState, SizeType, order_dt
from vectorbt.utils.array_ import insert_argsort_nb
from vectorbt.utils.math_ import is_close_or_less_nb

from engine.strategies.schema import Strategy


class OrderTerms(NamedTuple):
    """What every order executes under, in the form the numba kernels take."""

    commission: float
    slippage: float
    min_commission: float
    direction: int
    size_granularity: float


@dataclass(frozen=True)
class ExecutionRules:
    commission: float
    slippage: float
    initial_cash: float
    fractional_shares: bool = True
    allow_short: bool = False
    min_commission: float = 0.0
    size_at: str = "open"  # or "close": see the module's docstring

    @property
    def sizes_at_close(self) -> bool:
        return self.size_at == "close"

    @classmethod
    def from_strategy(cls, strategy: Strategy) -> ExecutionRules:
        return cls(
            commission=strategy.costs.commission,
            slippage=strategy.costs.slippage,
            initial_cash=strategy.execution.initial_cash,
            fractional_shares=strategy.execution.fractional_shares,
            allow_short=strategy.execution.allow_short,
            min_commission=strategy.costs.min_commission,
            size_at=strategy.execution.size_at,
        )

    @property
    def direction(self) -> int:
        return Direction.Both if self.allow_short else Direction.LongOnly

    @property
    def size_granularity(self) -> float:
        return np.nan if self.fractional_shares else 1.0

    @property
    def terms(self) -> OrderTerms:
        # Fixed types, so that numba compiles (and caches) the kernels once.
        return OrderTerms(
            float(self.commission),
            float(self.slippage),
            float(self.min_commission),
            int(self.direction),
            float(self.size_granularity),
        )

    def vectorbt_order_kwargs(self) -> dict:
        """Keyword arguments for `vbt.Portfolio.from_orders` that apply these rules as far as it can (the
        benchmark's peer): it has no minimum commission, and of competing buys short of cash it shrinks
        the last in its call sequence."""
        return dict(
            size_type="targetpercent",
            direction="both" if self.allow_short else "longonly",
            fees=self.commission,
            slippage=self.slippage,
            size_granularity=self.size_granularity,
            init_cash=self.initial_cash,
            cash_sharing=True,
            group_by=True,
            call_seq="auto",
        )


@njit(cache=True)
def commission_terms_nb(
    target_weight: float, value: float, position: float, price: float, rate: float, slippage: float, minimum: float
) -> tuple[float, float]:
    """(rate, fixed fee) for an order: the rate, or the minimum as a fixed fee when the order's
    intended notional is too small for the rate to reach it."""
    return share_commission_terms_nb(target_weight * value / price - position, price, rate, slippage, minimum)


@njit(cache=True)
def share_commission_terms_nb(shares: float, price: float, rate: float, slippage: float, minimum: float) -> tuple[float, float]:
    """`commission_terms_nb` for an order of a number of shares (negative: a sale)."""
    if minimum <= 0.0:
        return rate, 0.0
    notional = abs(shares) * price * (1.0 + slippage if shares > 0 else 1.0 - slippage)
    if rate * notional < minimum:
        return 0.0, minimum
    return rate, 0.0


@njit(cache=True)
def execute_shares_nb(
    shares: float, price: float, cash: float, position: float, terms: OrderTerms
) -> tuple[float, float, float, float, float]:
    """One order for a number of shares (negative: a sale) at `price` under `terms`, all or nothing, through
    vectorbt's order kernel as a bar's target orders go (the sandbox's orders name shares, not weights).
    Returns (cash, position, shares filled, fill price with slippage, fees); 0 shares filled when cash or
    the position cannot cover the order."""
    fees, fixed_fees = share_commission_terms_nb(shares, price, terms.commission, terms.slippage, terms.min_commission)
    order = vbt_nb.order_nb(
        size=shares,
        price=price,
        size_type=SizeType.Amount,
        direction=terms.direction,
        fees=fees,
        fixed_fees=fixed_fees,
        slippage=terms.slippage,
        size_granularity=terms.size_granularity,
        allow_partial=False,
    )
    state = ProcessOrderState(cash, position, 0.0, cash, price, cash + position * price, 0, 0)
    new_state, result = vbt_nb.execute_order_nb(state, order)
    if result.status != OrderStatus.Filled:
        return cash, position, 0.0, np.nan, 0.0
    return new_state.cash, new_state.position, result.size, result.price, result.fees


@njit(cache=True)
def execute_bar_nb(
    i: int,
    weights: np.ndarray,
    opens: np.ndarray,
    cash: float,
    free_cash: float,
    position: np.ndarray,
    debt: np.ndarray,
    terms: OrderTerms,
    records: np.ndarray,
    n_records: int,
) -> tuple[float, float, int]:
    """Execute bar `i`'s target-weight orders (NaN: none) at its open against the shared cash account.

    Orders run in vectorbt's 'auto' call sequence, which puts sells first; the buys then run scaled
    by `buy_scale_nb`. `position` and `debt` (per column) are updated in place and each fill is
    written to `records` (vectorbt's `order_dt`) from index `n_records` on. Returns the cash, free
    cash and record count after the bar.
    """
    value = _value_at_open_nb(cash, position, opens)
    buys = np.empty(len(weights), dtype=np.int64)
    n_buys = 0
    for col in _call_sequence_nb(weights, opens, cash, free_cash, position, value, terms.direction):
        if _buy_nb(weights[col], opens[col], value, position[col], terms)[0] > 0:  # waits for every sell
            buys[n_buys] = col
            n_buys += 1
            continue
        order = _target_order_nb(weights[col], opens[col], value, position[col], terms)
        cash, free_cash, n_records = _fill_nb(i, col, order, cash, free_cash, position, debt, value, opens, records, n_records)
    buys = buys[:n_buys]
    scale = buy_scale_nb(buys, weights, opens, value, position, cash, terms)
    for col in buys:
        if scale < 1.0:
            shares, fees, fixed_fees = _buy_nb(weights[col], opens[col], value, position[col], terms)
            order = _order_nb(scale * shares, SizeType.Amount, opens[col], fees, fixed_fees, terms)
        else:
            order = _target_order_nb(weights[col], opens[col], value, position[col], terms)
        cash, free_cash, n_records = _fill_nb(i, col, order, cash, free_cash, position, debt, value, opens, records, n_records)
    return cash, free_cash, n_records


@njit(cache=True)
def buy_scale_nb(
    buys: np.ndarray,
    weights: np.ndarray,
    opens: np.ndarray,
    value: float,
    position: np.ndarray,
    cash: float,
    terms: OrderTerms,
) -> float:
    """The factor every one of a bar's target-weight buys (columns `buys`) is scaled by, given the cash
    after its sells (see `scale_to_cash_nb`)."""
    shares, fees, fixed_fees = np.empty(len(buys)), np.empty(len(buys)), np.empty(len(buys))
    for k in range(len(buys)):
        col = buys[k]
        shares[k], fees[k], fixed_fees[k] = _buy_nb(weights[col], opens[col], value, position[col], terms)
    return scale_to_cash_nb(shares, opens[buys], fees, fixed_fees, cash, terms.slippage)


@njit(cache=True)
def scale_to_cash_nb(
    shares: np.ndarray, prices: np.ndarray, fees: np.ndarray, fixed_fees: np.ndarray, cash: float, slippage: float
) -> float:
    """The factor a bar's buys (`shares` at `prices`, with their commission rates and fixed fees) are all
    scaled by, given the cash after the bar's sells.

    1 when that cash covers them all with their costs, or when there is only one (vectorbt's kernel
    shrinks a lone buy to what cash covers). Otherwise the factor at which their notionals with
    slippage and commission, plus fixed fees (which do not scale), spend the cash.
    """
    if len(shares) < 2:
        return 1.0
    scaling_cost, fixed_cost = 0.0, 0.0
    for k in range(len(shares)):
        notional = shares[k] * (prices[k] * (1.0 + slippage))
        scaling_cost += notional + notional * fees[k]
        fixed_cost += fixed_fees[k]
    if is_close_or_less_nb(scaling_cost + fixed_cost, cash):
        return 1.0
    return max(cash - fixed_cost, 0.0) / scaling_cost


@njit(cache=True)
def size_at_close_nb(
    weights: np.ndarray,
    closes: np.ndarray,
    cash: float,
    free_cash: float,
    position: np.ndarray,
    debt: np.ndarray,
    terms: OrderTerms,
) -> np.ndarray:
    """The shares each target weight (NaN: none) trades when sized at the close it was decided on: what
    `execute_bar_nb` would fill if the bar's orders executed at that close. NaN where there is no order."""
    sized_position, sized_debt = position.copy(), debt.copy()
    records = np.empty(len(weights), dtype=order_dt)
    execute_bar_nb(0, weights, closes, cash, free_cash, sized_position, sized_debt, terms, records, 0)
    shares = sized_position - position
    shares[np.isnan(weights)] = np.nan
    return shares


@njit(cache=True)
def execute_shares_bar_nb(
    i: int,
    shares: np.ndarray,
    opens: np.ndarray,
    cash: float,
    free_cash: float,
    position: np.ndarray,
    debt: np.ndarray,
    terms: OrderTerms,
    records: np.ndarray,
    n_records: int,
) -> tuple[float, float, int]:
    """`execute_bar_nb` for orders of a number of shares (NaN: none; negative: a sale): sells first, in
    column order, then the buys, all scaled by `scale_to_cash_nb` when the cash after the sells cannot
    cover them (a lone buy shrinks to what cash covers)."""
    value = _value_at_open_nb(cash, position, opens)
    n_buys = 0
    buys = np.empty(len(shares), dtype=np.int64)
    for col in range(len(shares)):
        if shares[col] > 0:
            buys[n_buys] = col
            n_buys += 1
        elif shares[col] < 0:
            order = _shares_order_nb(shares[col], opens[col], terms)
            cash, free_cash, n_records = _fill_nb(
                i, col, order, cash, free_cash, position, debt, value, opens, records, n_records
            )
    buys = buys[:n_buys]
    fees, fixed_fees = np.empty(n_buys), np.empty(n_buys)
    for k in range(n_buys):
        col = buys[k]
        fees[k], fixed_fees[k] = share_commission_terms_nb(
            shares[col], opens[col], terms.commission, terms.slippage, terms.min_commission
        )
    scale = scale_to_cash_nb(shares[buys], opens[buys], fees, fixed_fees, cash, terms.slippage)
    for k in range(n_buys):
        col = buys[k]
        order = _order_nb(scale * shares[col], SizeType.Amount, opens[col], fees[k], fixed_fees[k], terms)
        cash, free_cash, n_records = _fill_nb(i, col, order, cash, free_cash, position, debt, value, opens, records, n_records)
    return cash, free_cash, n_records


@njit(cache=True)
def _shares_order_nb(shares: float, price: float, terms: OrderTerms) -> Order:
    fees, fixed_fees = share_commission_terms_nb(shares, price, terms.commission, terms.slippage, terms.min_commission)
    return _order_nb(shares, SizeType.Amount, price, fees, fixed_fees, terms)


@njit(cache=True)
def _value_at_open_nb(cash: float, position: np.ndarray, opens: np.ndarray) -> float:
    """The account's value at the open, summed as vectorbt sums a group's value."""
    value = cash
    for col in range(len(position)):
        if position[col] != 0:
            value += position[col] * opens[col]
    return value


@njit(cache=True)
def _call_sequence_nb(
    weights: np.ndarray,
    opens: np.ndarray,
    cash: float,
    free_cash: float,
    position: np.ndarray,
    value: float,
    direction: int,
) -> np.ndarray:
    """The columns in vectorbt's 'auto' call sequence: by approximate order value, so sells come first."""
    order_values = np.empty(len(weights))
    for col in range(len(weights)):
        order_values[col] = vbt_nb.approx_order_value_nb(
            weights[col], SizeType.TargetPercent, direction, cash, position[col], free_cash, opens[col], value
        )
    sequence = np.arange(len(weights))
    insert_argsort_nb(order_values, sequence)
    return sequence


@njit(cache=True)
def _buy_nb(weight: float, price: float, value: float, position: float, terms: OrderTerms) -> tuple[float, float, float]:
    """(shares, rate, fixed fee) of the buy a target weight makes at this open: shares as vectorbt's kernel
    sizes them (in whole shares, rounded down, unless fractions are allowed); 0 shares if it does not buy."""
    shares = weight * value / price - position
    if not (shares > 0 and value > 0):  # also NaN weights; a value of 0 or less rejects the order
        return 0.0, 0.0, 0.0
    if not np.isnan(terms.size_granularity):
        shares = shares // terms.size_granularity * terms.size_granularity
    fees, fixed_fees = commission_terms_nb(weight, value, position, price, terms.commission, terms.slippage, terms.min_commission)
    return shares, fees, fixed_fees


@njit(cache=True)
def _target_order_nb(weight: float, price: float, value: float, position: float, terms: OrderTerms) -> Order:
    """The order for a target weight of the account's value at this open, with the fee terms for its size."""
    fees, fixed_fees = commission_terms_nb(weight, value, position, price, terms.commission, terms.slippage, terms.min_commission)
    return _order_nb(weight, SizeType.TargetPercent, price, fees, fixed_fees, terms)


@njit(cache=True)
def _order_nb(size: float, size_type: int, price: float, fees: float, fixed_fees: float, terms: OrderTerms) -> Order:
    return vbt_nb.order_nb(
        size=size,
        price=price,
        size_type=size_type,
        direction=terms.direction,
        fees=fees,
        fixed_fees=fixed_fees,
        slippage=terms.slippage,
        size_granularity=terms.size_granularity,
    )


@njit(cache=True)
def _fill_nb(
    i: int,
    col: int,
    order: Order,
    cash: float,
    free_cash: float,
    position: np.ndarray,
    debt: np.ndarray,
    value: float,
    opens: np.ndarray,
    records: np.ndarray,
    n_records: int,
) -> tuple[float, float, int]:
    """Execute one order at the open and record it if it filled. The account takes the kernel's new state
    whatever the outcome, as vectorbt's simulators do (it rounds near-zero amounts to zero)."""
    state = ProcessOrderState(cash, position[col], debt[col], free_cash, opens[col], value, n_records, 0)
    new_state, result = vbt_nb.execute_order_nb(state, order)
    position[col], debt[col] = new_state.position, new_state.debt
    if result.status == OrderStatus.Filled:
        vbt_nb.fill_order_record_nb(records[n_records], n_records, i, col, result)
        n_records += 1
    return new_state.cash, new_state.free_cash, n_records


@njit(cache=True)
def orders_from_targets_nb(targets: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Order weights for each bar: the target where it changed from the bar before, else NaN.

    `previous` is the last target row of the preceding chunk (NaN at the start of a run, so the
    first bar always orders).
    """
    orders = np.empty_like(targets)
    for i in range(targets.shape[0]):
        before = previous if i == 0 else targets[i - 1]
        for col in range(targets.shape[1]):
            orders[i, col] = targets[i, col] if targets[i, col] != before[col] else np.nan
    return orders


def fill_bar_orders(order_weights: np.ndarray) -> np.ndarray:
    """Shift orders decided at bar t to the row of bar t+1, where they fill at the open."""
    shifted = np.full_like(order_weights, np.nan)
    shifted[1:] = order_weights[:-1]
    return shifted
