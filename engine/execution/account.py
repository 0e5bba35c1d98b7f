"""The simulated account: cash and positions, and every kind of fill, through the fill kernel
(engine.execution.conventions). The sim broker and `engine sandbox`'s paper account both keep their
books here, so an order fills alike whichever of them takes it.

Its state is vectorbt's (cash, free cash, shares and short debt per symbol). A fill changes it in
place and writes vectorbt order records; what an order is and when it is due (a bar's target
weights, Alpaca's market and limit orders) is the caller's.
"""

from __future__ import annotations

import numpy as np

from engine.execution.conventions import (
    ExecutionRules,
    execute_bar_nb,
    execute_shares_bar_nb,
    execute_shares_nb,
    size_at_close_nb,
)


class SimAccount:
    def __init__(self, rules: ExecutionRules, symbols: tuple[str, ...]) -> None:
        self.rules, self.symbols = rules, tuple(symbols)
        self.reset()

    def reset(self) -> None:
        """The starting cash back, every position gone."""
        self.cash = self.free_cash = self.rules.initial_cash
        self.position = np.zeros(len(self.symbols))  # shares per symbol
        self.debt = np.zeros(len(self.symbols))

    def equity(self, prices: np.ndarray) -> float:
        return float(self.cash + self.position @ prices)

    def holdings(self) -> dict[str, float]:
        """Shares held, by symbol (those at zero too)."""
        return {symbol: float(shares) for symbol, shares in zip(self.symbols, self.position, strict=True)}

    def fill_targets(self, row: int, weights: np.ndarray, opens: np.ndarray, records: np.ndarray) -> int:
        """A bar's target weights (NaN: no order) at its open; returns how many fills `records` got."""
        self.cash, self.free_cash, filled = execute_bar_nb(
            row, weights, opens, self.cash, self.free_cash, self.position, self.debt, self.rules.terms, records, 0
        )
        return filled

    def fill_shares(self, row: int, shares: np.ndarray, opens: np.ndarray, records: np.ndarray) -> int:
        """Orders of shares (NaN: none; negative: a sale) at a bar's open, sells first and the buys shrunk
        alike when the cash cannot cover them; returns how many fills `records` got."""
        self.cash, self.free_cash, filled = execute_shares_bar_nb(
            row, shares, opens, self.cash, self.free_cash, self.position, self.debt, self.rules.terms, records, 0
        )
        return filled

    def fill_at(self, column: int, shares: float, price: float, slippage: bool = True) -> tuple[float, float]:
        """One order of shares at `price`, all or nothing (a limit order's, whose limit caps the price:
        no slippage); returns the shares filled (0 when the cash or the position cannot cover it) and
        the fill price."""
        terms = self.rules.terms if slippage else self.rules.terms._replace(slippage=0.0)
        cash, after, filled, fill_price, _ = execute_shares_nb(shares, price, self.cash, self.position[column], terms)
        if filled:
            self.cash = self.free_cash = cash
            self.position[column] = after
        return filled, fill_price

    def sized_at_close(self, weights: np.ndarray, closes: np.ndarray) -> np.ndarray:
        """The shares target weights trade when sized at the close they were decided on (NaN: no order)."""
        return size_at_close_nb(weights, closes, self.cash, self.free_cash, self.position, self.debt, self.rules.terms)
