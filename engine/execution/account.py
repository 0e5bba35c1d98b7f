"""The simulated account: cash, positions and open orders, matched bar by bar through the fill kernel
(engine.execution.conventions). The sim broker and `engine sandbox`'s paper account both keep their
books here, so an order fills alike whichever of them takes it.

Its state is vectorbt's (cash, free cash, shares and short debt per symbol). Two kinds of order wait
in its book for a bar's open: a bar of target weights (`BarOrders`, what a strategy decides at a
close) and orders of shares (`ShareOrder`: Alpaca's market and limit orders, as the sandbox keeps
them). `match` fills what is due and reports each order's outcome; an order's life around that (ids,
statuses, expiry) is its keeper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
from vectorbt.portfolio.enums import OrderSide, order_dt

from engine.execution.conventions import (
    ExecutionRules,
    execute_bar_nb,
    execute_shares_bar_nb,
    execute_shares_nb,
    size_at_close_nb,
)


@dataclass
class BarOrders:
    """The orders decided at one bar's close: target weights (NaN: no order) and, when sized at that
    close, the shares they trade (None: sized at the next open). They fill together at the next bar."""

    weights: np.ndarray
    shares: np.ndarray | None
    decided_at: np.datetime64
    strategy: str
    is_open: bool = True


class ShareOrder(Protocol):
    """An order of shares for one symbol: a market order (no limit price) or a limit order."""

    column: int  # the symbol's
    limit_price: float | None
    placed_at: int  # the bar it was placed after: it fills on a later one

    @property
    def is_open(self) -> bool: ...

    def shares_at(self, price: float, slippage: float) -> float:
        """The signed shares it trades at `price` (negative: a sale)."""
        ...


class Match(NamedTuple):
    """An open order's outcome at a bar, one per symbol it orders."""

    order: BarOrders | ShareOrder
    column: int
    shares: float  # filled; 0.0 when nothing filled
    price: float
    fees: float
    buy: bool
    held: float  # the shares of the symbol held after it


class SimAccount:
    def __init__(self, rules: ExecutionRules, symbols: tuple[str, ...]) -> None:
        self.rules, self.symbols = rules, tuple(symbols)
        self.reset()

    def reset(self) -> None:
        """The starting cash back, every position and open order gone."""
        self.cash = self.free_cash = self.rules.initial_cash
        self.position = np.zeros(len(self.symbols))  # shares per symbol
        self.debt = np.zeros(len(self.symbols))
        self._book: list[BarOrders | ShareOrder] = []

    def equity(self, prices: np.ndarray) -> float:
        return float(self.cash + self.position @ prices)

    def holdings(self) -> dict[str, float]:
        """Shares held, by symbol (those at zero too)."""
        return {symbol: float(shares) for symbol, shares in zip(self.symbols, self.position, strict=True)}

    def sized_at_close(self, weights: np.ndarray, closes: np.ndarray) -> np.ndarray:
        """The shares target weights trade when sized at the close they were decided on (NaN: no order)."""
        return size_at_close_nb(weights, closes, self.cash, self.free_cash, self.position, self.debt, self.rules.terms)

    # -- the book

    def place(self, order: BarOrders | ShareOrder) -> None:
        self._book.append(order)

    @property
    def open_orders(self) -> list[BarOrders | ShareOrder]:
        """The orders in the book still open, oldest first (a keeper closes an order by its status)."""
        self._book = [order for order in self._book if order.is_open]
        return list(self._book)

    def cancel_all(self) -> list[BarOrders | ShareOrder]:
        """Take every open order out of the book: the orders taken, whose keeper tells their end."""
        cancelled, self._book = self.open_orders, []
        return cancelled

    def match(
        self, row: int, opens: np.ndarray, highs: np.ndarray, lows: np.ndarray, marks: np.ndarray | None = None
    ) -> list[Match]:
        """Fill the open orders due at bar `row`, whose prices are `opens`, `highs` and `lows` (NaN: the
        symbol has no bar; its orders wait, and `marks` values what it holds). First a bar of target
        orders; then market orders, one per symbol at a time (the kernel takes each symbol's position
        once), sells before buys, the buys shrunk alike when the cash cannot cover them; then limit
        orders, sells first, all or nothing: at the open when it is through the limit, else at the limit
        when the bar's range reaches it (a limit caps the price: no slippage). A limit order not reached
        gets no outcome and stays in the book."""
        if not self._book:  # most bars of a backtest: nothing ordered at the last close
            return []
        book = self.open_orders
        prices = opens if marks is None else np.where(np.isnan(opens), marks, opens)
        matches: list[Match] = []
        due = []
        for order in book:
            if isinstance(order, BarOrders):
                matches += self._fill_bar(row, order, prices)
            elif order.placed_at < row and not np.isnan(opens[order.column]):
                due.append(order)
        market = [order for order in due if order.limit_price is None]
        while market:
            batch = list({order.column: order for order in reversed(market)}.values())[::-1]
            market = [order for order in market if order not in batch]
            matches += self._fill_market(row, batch, prices)
        for order in sorted((order for order in due if order.limit_price is not None), key=self._is_buy):
            column = order.column
            price = _limit_fill(order, self._is_buy(order), opens[column], highs[column], lows[column])
            if price is not None:
                matches.append(self._fill_limit(order, price))
        return matches

    def _is_buy(self, order: ShareOrder) -> bool:
        return order.shares_at(1.0, 0.0) > 0

    def _fill_bar(self, row: int, orders: BarOrders, prices: np.ndarray) -> list[Match]:
        """A bar's orders: the fills in execution order (sells before buys), then each order that filled
        nothing (already at its target, or no cash to buy with)."""
        orders.is_open = False
        records = np.empty(len(orders.weights), dtype=order_dt)
        state = (self.cash, self.free_cash, self.position, self.debt, self.rules.terms, records, 0)
        if orders.shares is None:
            self.cash, self.free_cash, n_filled = execute_bar_nb(row, orders.weights, prices, *state)
        else:
            self.cash, self.free_cash, n_filled = execute_shares_bar_nb(row, orders.shares, prices, *state)
        matches = [self._matched(orders, record) for record in records[:n_filled]]
        filled = set(records["col"][:n_filled].tolist())
        for column in np.flatnonzero(~np.isnan(orders.weights)):
            if column not in filled:
                matches.append(self._missed(orders, int(column)))
        return matches

    def _fill_market(self, row: int, batch: list[ShareOrder], prices: np.ndarray) -> list[Match]:
        """Market orders, one per symbol, at the open with slippage: one outcome each, in the batch's order."""
        shares = np.full(len(self.symbols), np.nan)
        for order in batch:
            shares[order.column] = order.shares_at(prices[order.column], self.rules.slippage)
        records = np.empty(len(batch), dtype=order_dt)
        self.cash, self.free_cash, n_filled = execute_shares_bar_nb(
            row, shares, prices, self.cash, self.free_cash, self.position, self.debt, self.rules.terms, records, 0
        )
        filled = {int(record["col"]): record for record in records[:n_filled]}
        return [
            self._matched(order, filled[order.column]) if order.column in filled else self._missed(order, order.column)
            for order in batch
        ]

    def _fill_limit(self, order: ShareOrder, price: float) -> Match:
        column, terms = order.column, self.rules.terms._replace(slippage=0.0)
        shares = order.shares_at(price, 0.0)
        cash, after, filled, fill_price, fees = execute_shares_nb(shares, price, self.cash, self.position[column], terms)
        if not filled:
            return self._missed(order, column)
        self.cash = self.free_cash = cash
        self.position[column] = after
        return Match(order, column, float(filled), float(fill_price), float(fees), shares > 0, float(after))

    def _matched(self, order: BarOrders | ShareOrder, record: np.void) -> Match:
        column = int(record["col"])
        return Match(
            order,
            column,
            float(record["size"]),
            float(record["price"]),
            float(record["fees"]),
            record["side"] == OrderSide.Buy,
            float(self.position[column]),
        )

    def _missed(self, order: BarOrders | ShareOrder, column: int) -> Match:
        return Match(order, column, 0.0, np.nan, 0.0, False, float(self.position[column]))


def _limit_fill(order: ShareOrder, buy: bool, open_: float, high: float, low: float) -> float | None:
    """The price a limit order fills at on a bar, or None when the bar does not reach its limit."""
    limit = order.limit_price
    if buy:
        return open_ if open_ <= limit else limit if low <= limit else None
    return open_ if open_ >= limit else limit if high >= limit else None
