"""What an execution path hands back: marks per bar, the fills, and vectorbt's round trips over them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from vectorbt.portfolio import dispatch
from vectorbt.portfolio.enums import OrderSide, order_dt
from vectorbt.records.dispatch import col_map

from engine.kernel.bars import Bars
from engine.kernel.events import Fills

ROWS_PER_BLOCK = 1024  # per-close sums over symbols are taken this many closes at a time: no panel-sized temporaries
FILL_COLUMNS = ["timestamp", "decided_at", "symbol", "side", "size", "price", "fees", "slippage_cost", "target_weight"]


@dataclass(frozen=True, eq=False)
class ExecutionResult:
    bars: Bars
    equity: np.ndarray  # net equity marked at each close
    cash: np.ndarray
    positions: np.ndarray  # shares held at each close, per symbol
    executed: Fills  # every fill, in execution order
    fill_bars: np.ndarray  # bar index of each fill
    initial_cash: float

    @classmethod
    def marked(
        cls, bars: Bars, cash: np.ndarray, positions: np.ndarray, fills: Fills, fill_bars: np.ndarray, initial_cash: float
    ) -> ExecutionResult:
        """The books of a run over `bars` that has ended: cash and positions marked at each close (the
        result takes these arrays: no one changes them after), and every fill with the bar it was booked at."""
        return cls(
            bars=bars,
            equity=marked_equity(cash, positions, bars.close),
            cash=cash,
            positions=positions,
            executed=fills,
            fill_bars=fill_bars.astype(np.int64),
            initial_cash=initial_cash,
        )

    @cached_property
    def fills(self) -> pd.DataFrame:
        """The fills as a table (FILL_COLUMNS), in execution order; built when asked for (a study's
        trials, which only count and sum them, never are)."""
        return fills_frame(self.executed, self.bars.symbols)

    @property
    def fill_columns(self) -> np.ndarray:
        """The symbol column of each fill."""
        return self.executed.column

    @cached_property
    def costs(self) -> np.ndarray:
        """Commission plus slippage paid up to and including each bar."""
        per_bar = np.zeros(len(self.bars))
        np.add.at(per_bar, self.fill_bars, self.executed.fees + self.executed.slippage_cost)
        return np.cumsum(per_bar)

    @property
    def gross_equity(self) -> np.ndarray:
        """Equity had no commission or slippage been paid (net equity plus cumulative costs)."""
        return self.equity + self.costs

    @cached_property
    def position_records(self) -> np.ndarray:
        """vectorbt's position records (round trips per symbol, an open one marked at the last close),
        built by its kernels from these fills as order records."""
        fills = self.executed
        records = np.zeros(len(fills), dtype=order_dt)
        records["id"] = np.arange(len(fills))
        records["col"] = fills.column
        records["idx"] = self.fill_bars
        records["size"] = fills.size
        records["price"] = fills.price
        records["fees"] = fills.fees
        records["side"] = np.where(fills.side > 0, OrderSide.Buy, OrderSide.Sell)
        order = np.lexsort((records["id"], records["idx"], records["col"]))  # vectorbt wants column-major order
        records = records[order]
        records["id"] = np.arange(len(records))
        symbols = len(self.bars.symbols)
        exit_trades = dispatch.get_exit_trades(records, self.bars.close, col_map(records["col"], symbols))
        return dispatch.get_positions(exit_trades, col_map(exit_trades["col"], symbols))

    def since(self, first_bar: int) -> ExecutionResult:
        """The result from `first_bar` on, for a run whose earlier bars only warmed the stages up."""
        if (self.fill_bars < first_bar).any():
            raise ValueError("cannot cut a run where it has already traded")
        return ExecutionResult(
            bars=self.bars.slice(first_bar, len(self.bars)),
            equity=self.equity[first_bar:],
            cash=self.cash[first_bar:],
            positions=self.positions[first_bar:],
            executed=self.executed,
            fill_bars=self.fill_bars - first_bar,
            initial_cash=self.initial_cash,
        )

    @cached_property
    def gross_exposure(self) -> np.ndarray:
        """The absolute value of the positions at each close, as a fraction of equity."""
        return _per_close_sums(lambda rows: np.abs(self.positions[rows] * self.bars.close[rows]), len(self.bars)) / self.equity

    def equity_frame(self) -> pd.DataFrame:
        exposure = self.gross_exposure
        return pd.DataFrame(
            {
                "timestamp": self.bars.index(),
                "equity": self.equity,
                "cash": self.cash,
                "gross_equity": self.gross_equity,
                "net_equity": self.equity,
                "costs_paid": self.costs,
                "gross_exposure": exposure,
            }
        )


def marked_equity(cash: np.ndarray, positions: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """Equity at each close: cash plus the positions valued at that close."""
    return cash + _per_close_sums(lambda rows: positions[rows] * closes[rows], len(cash))


def _per_close_sums(values, closes: int) -> np.ndarray:
    """Each close's sum over symbols of `values(rows)` (a block of closes by symbols), a block at a time;
    every close is summed alone, so the sums are those of the whole panel at once, bit for bit."""
    sums = np.empty(closes)
    for start in range(0, closes, ROWS_PER_BLOCK):
        rows = slice(start, start + ROWS_PER_BLOCK)
        sums[rows] = values(rows).sum(axis=1)
    return sums


def fills_frame(fills: Fills, symbols: tuple[str, ...]) -> pd.DataFrame:
    """The fills as a table (FILL_COLUMNS), in the order they were executed."""
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(fills.timestamp).tz_localize("UTC"),
            "decided_at": pd.DatetimeIndex(fills.decided_at).tz_localize("UTC"),
            "symbol": np.array(symbols, dtype=object)[fills.column],
            "side": np.where(fills.side > 0, "buy", "sell"),
            "size": fills.size,
            "price": fills.price,
            "fees": fills.fees,
            "slippage_cost": fills.slippage_cost,
            "target_weight": fills.target_weight,
        },
        columns=FILL_COLUMNS,
    )
