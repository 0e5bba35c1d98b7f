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
- When cash cannot cover a buy and its costs, the buy shrinks to what cash covers, costs included.
  Nothing borrows: long/flat by default; short only when the strategy allows it.
- Fractional shares by default; whole shares (rounded down) as an option.
- Equity is marked at each bar's close.

Both execution paths apply these rules through vectorbt's own order kernel, so the vectorized
backtest (`Portfolio.from_orders`) and the event-driven broker fill identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from vectorbt.portfolio import nb as vbt_nb
from vectorbt.portfolio.enums import Direction, Order, SizeType

from engine.strategy import Strategy


@dataclass(frozen=True)
class ExecutionRules:
    commission: float
    slippage: float
    initial_cash: float
    fractional_shares: bool = True
    allow_short: bool = False
    min_commission: float = 0.0

    @classmethod
    def from_strategy(cls, strategy: Strategy) -> ExecutionRules:
        return cls(
            commission=strategy.costs.commission,
            slippage=strategy.costs.slippage,
            initial_cash=strategy.execution.initial_cash,
            fractional_shares=strategy.execution.fractional_shares,
            allow_short=strategy.execution.allow_short,
            min_commission=strategy.costs.min_commission,
        )

    @property
    def direction(self) -> int:
        return Direction.Both if self.allow_short else Direction.LongOnly

    @property
    def size_granularity(self) -> float:
        return np.nan if self.fractional_shares else 1.0

    def vectorbt_order_kwargs(self) -> dict:
        """Keyword arguments for `vbt.Portfolio.from_orders` that apply these rules."""
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

    def order(self, target_weight: float, open_price: float, value: float, position: float) -> Order:
        """The vectorbt order the broker executes for one target weight at one open, with the
        account's value at that open and the symbol's position."""
        fees, fixed_fees = commission_terms_nb(
            target_weight, value, position, open_price, self.commission, self.slippage, self.min_commission
        )
        return Order(
            size=float(target_weight),
            price=float(open_price),
            size_type=SizeType.TargetPercent,
            direction=self.direction,
            fees=fees,
            fixed_fees=fixed_fees,
            slippage=self.slippage,
            min_size=0.0,
            max_size=np.inf,
            size_granularity=self.size_granularity,
            reject_prob=0.0,
            lock_cash=False,
            allow_partial=True,
            raise_reject=False,
            log=False,
        )


@njit(cache=True)
def commission_terms_nb(
    target_weight: float, value: float, position: float, price: float, rate: float, slippage: float, minimum: float
) -> tuple[float, float]:
    """(rate, fixed fee) for an order: the rate, or the minimum as a fixed fee when the order's
    intended notional is too small for the rate to reach it."""
    if minimum <= 0.0:
        return rate, 0.0
    shares = target_weight * value / price - position
    notional = abs(shares) * price * (1.0 + slippage if shares > 0 else 1.0 - slippage)
    if rate * notional < minimum:
        return 0.0, minimum
    return rate, 0.0


def orders_from_targets(targets: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Order weights for each bar: the target where it changed from the bar before, else NaN.

    `previous` is the last target row of the preceding chunk (None at the start of a run, so the
    first bar always orders).
    """
    before = np.empty_like(targets)
    before[0] = np.nan if previous is None else previous
    before[1:] = targets[:-1]
    return np.where(targets != before, targets, np.nan)


def fill_bar_orders(order_weights: np.ndarray) -> np.ndarray:
    """Shift orders decided at bar t to the row of bar t+1, where they fill at the open."""
    shifted = np.full_like(order_weights, np.nan)
    shifted[1:] = order_weights[:-1]
    return shifted


def execution_sequence(
    rules: ExecutionRules,
    order_weights: np.ndarray,
    position: np.ndarray,
    open_prices: np.ndarray,
    cash: float,
    free_cash: float,
    value: float,
) -> np.ndarray:
    """The column order in which one bar's orders execute: vectorbt's 'auto' call sequence (sells first)."""
    approx_values = np.array(
        [
            vbt_nb.approx_order_value_nb(weight, SizeType.TargetPercent, rules.direction, cash, pos, free_cash, price, value)
            for weight, pos, price in zip(order_weights, position, open_prices, strict=True)
        ]
    )
    sequence = np.arange(len(order_weights))
    vbt_nb.insert_argsort_nb(approx_values, sequence)
    return sequence
