"""The one simulated account: a bar of target orders (the sim broker's) and orders of shares (the
sandbox's Alpaca orders) wait in its book and match through the same kernel."""

from dataclasses import dataclass

import numpy as np
import pytest

from engine.execution.account import BarOrders, SimAccount
from engine.execution.conventions import ExecutionRules

RULES = ExecutionRules(commission=0.001, slippage=0.0005, initial_cash=10_000.0, min_commission=1.0, size_at="close")
SYMBOLS = ("AAA", "BBB", "CCC")


@dataclass
class SharesOrder:
    column: int
    shares: float
    limit_price: float | None = None
    placed_at: int = 0
    is_open: bool = True

    def shares_at(self, price: float, slippage: float) -> float:
        return self.shares


def test_a_bar_of_targets_and_the_same_shares_as_market_orders_fill_alike():
    closes, opens = np.array([10.0, 20.0, 40.0]), np.array([10.2, 19.7, 41.0])
    first, second = SimAccount(RULES, SYMBOLS), SimAccount(RULES, SYMBOLS)
    for weights in (np.array([0.3, 0.5, 0.2]), np.array([0.0, 0.6, np.nan])):
        shares = first.sized_at_close(weights, closes)
        first.place(BarOrders(weights, shares, np.datetime64("2024-01-02"), "s"))
        for column in np.flatnonzero(~np.isnan(shares) & (shares != 0)):
            second.place(SharesOrder(int(column), float(shares[column])))
        bar = [match[:6] for match in first.match(1, opens, opens, opens)]
        orders = second.match(1, opens, opens, opens)
        assert sorted((m.column, m.shares, m.price, m.fees, m.buy) for m in orders) == sorted(m[1:6] for m in bar if m[2])
        for order in orders:
            order.order.is_open = False
        assert second.cash == pytest.approx(first.cash, abs=1e-9)
        np.testing.assert_allclose(second.position, first.position, atol=1e-12)
    assert first.open_orders == [] and second.open_orders == []
    assert first.position[0] == 0.0 and first.position[2] > 0.0


def test_a_limit_order_waits_in_the_book_until_a_bar_reaches_it_and_then_fills_at_its_limit():
    account = SimAccount(RULES, SYMBOLS)
    buy = SharesOrder(1, 10.0, limit_price=19.0)
    account.place(buy)
    nan = np.full(3, np.nan)
    assert (
        account.match(1, np.array([np.nan, 20.0, np.nan]), np.array([np.nan, 21.0, np.nan]), np.array([np.nan, 19.5, np.nan]))
        == []
    )
    assert account.open_orders == [buy]
    assert account.match(2, nan, nan, nan) == []  # no bar for the symbol: it waits
    (match,) = account.match(
        3, np.array([np.nan, 19.4, np.nan]), np.array([np.nan, 19.6, np.nan]), np.array([np.nan, 18.8, np.nan])
    )
    assert (match.shares, match.price, match.buy, match.held) == (10.0, 19.0, True, 10.0)  # the limit, no slippage
    assert account.cash == pytest.approx(10_000.0 - 190.0 - 1.0)  # the minimum commission


def test_an_order_placed_after_a_bar_was_released_waits_for_the_next():
    account = SimAccount(RULES, SYMBOLS)
    account.place(SharesOrder(0, 5.0, placed_at=4))
    opens = np.array([10.0, 20.0, 40.0])
    assert account.match(4, opens, opens, opens) == []
    (match,) = account.match(5, opens, opens, opens)
    assert match.shares == 5.0 and match.price == pytest.approx(10.0 * 1.0005)
