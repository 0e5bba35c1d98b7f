"""The compiled replay step: the order router, the sim broker and the ledger as one compiled call per chunk.

A run that nothing outside the pipeline listens to (no caller's listeners, the built-in `sim` broker,
no limit that must see the account at every close) needs no events between a chunk's final targets
and its books. For such a run the pipeline hands each chunk's targets to `CompiledReplay`, whose
kernel does, bar by bar, what the three parts do through the bus: it fills the orders decided at the
last close at this bar's open through the sim broker's kernels (`execute_bar_nb`, or
`execute_shares_bar_nb` for orders sized at their close), marks cash and positions at the close
with the ledger's arithmetic (each bar's flows summed in fill order, added up through the chunk),
and orders where the target changed (`orders_from_targets_nb`, the router's rule). Its books are
the event-driven ones bit for bit, at every chunk size (tests/test_compiled_replay.py). The fills
become event-shaped only once, for the run's result.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit
from vectorbt.portfolio.enums import OrderSide, order_dt

from engine.execution.conventions import (
    ExecutionRules,
    OrderTerms,
    execute_bar_nb,
    execute_shares_bar_nb,
    orders_from_targets_nb,
    size_at_close_nb,
)
from engine.execution.result import ExecutionResult
from engine.kernel.bars import Bars
from engine.kernel.bus import EventBus
from engine.kernel.events import NO_FILLS, Fills, TargetChunk
from engine.kernel.marks import Marks
from engine.kernel.risk import RiskEvent, RiskGate
from engine.kernel.topics import FINAL_TARGETS, RISK


class CompiledReplay:
    """Routes, fills and books each chunk of final targets in one compiled call (see the module)."""

    def __init__(
        self,
        bus: EventBus,
        symbols: tuple[str, ...],
        rules: ExecutionRules,
        initial_cash: float,
        trade_from: np.datetime64 | None,
        strategy: str,
        held: np.ndarray | None,
        gate: RiskGate,
    ) -> None:
        if gate.watches_bars:
            raise ValueError("the compiled replay step cannot ask the risk gate at each close: run it through events")
        self.initial_cash = initial_cash
        self._rules = rules
        self._terms = np.array(rules.terms, dtype=np.float64)  # an array: numba takes it faster than the named tuple
        self._trade_from, self._strategy, self._gate = trade_from, strategy, gate
        n = len(symbols)
        self._account = np.array([initial_cash, initial_cash])  # the sim account's cash and free cash
        # The sim account's shares and short debt, the orders waiting for the next open (target weights,
        # and shares when sized at the close) and the last target routed (NaN: none yet).
        self._vectors = np.zeros((5, n))
        self._vectors[2:4] = np.nan
        self._vectors[4] = np.nan if held is None else held
        self._marks = Marks(n)
        self._chunks: list[Bars] = []
        self._fills: list[np.ndarray] = []  # FILL_TABLE rows
        self.fill_count = 0
        self._busy = threading.Lock()  # a halt by hand comes from another thread
        bus.subscribe(FINAL_TARGETS, self.on_targets)
        bus.subscribe(RISK, self.on_risk)

    @property
    def cash(self) -> float:
        return self._marks.last(self.initial_cash)[0]

    @property
    def positions(self) -> np.ndarray:
        return self._marks.last(self.initial_cash)[1].copy()

    @property
    def differences(self) -> list:
        return []  # the books are the account's: nothing to reconcile

    def on_targets(self, event: TargetChunk) -> None:
        bars, marks = event.bars, self._marks
        stamps = bars.timestamps
        tradable = 0 if self._trade_from is None or self._trade_from <= stamps[0] else int(stamps.searchsorted(self._trade_from))
        with self._busy:
            halted = self._gate.halted is not None
            if halted:  # what the gate refuses: the orders the router would have sent
                orders = orders_from_targets_nb(event.weights[tradable:], self._vectors[4].copy())
            last_cash, last_positions = marks.last(self.initial_cash)
            rows = marks.extend(stamps)
            fills = _replay_chunk_nb(
                event.weights,
                bars.open,
                bars.close,
                tradable,
                rows.start,
                not halted,
                self._rules.sizes_at_close,
                self._terms,
                self._account,
                self._vectors,
                marks.cash,
                marks.positions,
                last_cash,
                last_positions,
            )
            self._chunks.append(bars)
            if len(fills):
                self._fills.append(fills)
                self.fill_count += len(fills)
        if halted:
            self._refuse(bars.slice(tradable, len(bars)), orders, rows.start + tradable)

    def _refuse(self, bars: Bars, orders: np.ndarray, first_mark: int) -> None:
        """A halted session's orders (one row per bar of `bars`): the gate refuses each bar's, as it does
        the sim broker's."""
        marks = self._marks
        for row in np.flatnonzero(~np.isnan(orders).all(axis=1)):
            at = first_mark + row
            self._gate.at_close(bars.timestamps[row], orders[row], bars.close[row], marks.cash[at], marks.positions[at])

    def on_risk(self, event: RiskEvent) -> None:
        """A halt cancels the orders waiting for the next open."""
        if event.action == "halted":
            with self._busy:
                self._vectors[2:4] = np.nan

    def result(self) -> ExecutionResult:
        bars, marks = Bars.concat(self._chunks), self._marks
        table = np.concatenate(self._fills) if self._fills else np.empty((0, len(FILL_TABLE)))
        fills = _fills(bars, table, self._strategy)
        bar = table[:, FILL_TABLE.index("bar")]
        return ExecutionResult.marked(
            bars, marks.cash[: marks.length], marks.positions[: marks.length], fills, bar, self.initial_cash
        )


FILL_TABLE = ("bar", "column", "side", "size", "price", "fees", "target_weight")  # the kernel's fills, as floats


def _fills(bars: Bars, table: np.ndarray, strategy: str) -> Fills:
    """The kernel's fills as event fills, each decided at the close before the open it filled at."""
    if not len(table):
        return NO_FILLS
    bar, column, side, size, price, fees, target_weight = table.T
    return Fills.at_opens(bars, bar.astype(np.int64), column.astype(np.int64), side, size, price, fees, target_weight, strategy)


@njit(cache=True)
def _replay_chunk_nb(
    targets: np.ndarray,
    opens: np.ndarray,
    closes: np.ndarray,
    tradable: int,
    first_row: int,
    may_order: bool,
    sizes_at_close: bool,
    terms_array: np.ndarray,
    account: np.ndarray,
    vectors: np.ndarray,
    cash_marks: np.ndarray,
    position_marks: np.ndarray,
    last_cash: float,
    last_positions: np.ndarray,
):
    """One chunk of final targets (rows from `tradable` on may order, while `may_order`) through the
    books: its fills, as FILL_TABLE rows. `account` (cash, free cash) and `vectors` (position, debt,
    pending weights, pending shares, previous targets) carry on to the next chunk; `cash_marks` and
    `position_marks` get the marks at each close from row `first_row` on."""
    terms = OrderTerms(terms_array[0], terms_array[1], terms_array[2], int(terms_array[3]), terms_array[4])
    position, debt, pending, pending_shares, previous = vectors[0], vectors[1], vectors[2], vectors[3], vectors[4]
    n_rows, n_symbols = targets.shape
    capacity = 16
    records = np.empty(capacity, dtype=order_dt)
    fills = np.empty((capacity, 7))
    n_records = 0
    cash, free_cash = account[0], account[1]
    flows = 0.0
    shares = np.zeros(n_symbols)
    for i in range(n_rows):
        if not np.isnan(pending).all():
            if n_records + n_symbols > capacity:  # grow geometrically: a chunk's fills are not known ahead
                capacity = 2 * (n_records + n_symbols)
                records, fills = _grown(records, n_records, capacity), _grown(fills, n_records, capacity)
            first = n_records
            if sizes_at_close:
                cash, free_cash, n_records = execute_shares_bar_nb(
                    first_row + i, pending_shares, opens[i], cash, free_cash, position, debt, terms, records, n_records
                )
            else:
                cash, free_cash, n_records = execute_bar_nb(
                    first_row + i, pending, opens[i], cash, free_cash, position, debt, terms, records, n_records
                )
            bar_flow = 0.0
            for r in range(first, n_records):
                column, side = records[r]["col"], 1.0 if records[r]["side"] == OrderSide.Buy else -1.0
                size, price, fees = records[r]["size"], records[r]["price"], records[r]["fees"]
                fills[r, 0], fills[r, 1], fills[r, 2], fills[r, 3] = first_row + i, column, side, size
                fills[r, 4], fills[r, 5], fills[r, 6] = price, fees, pending[column]
                bar_flow += -side * size * price - fees
                shares[column] += side * size
            flows += bar_flow
            pending[:] = np.nan
            pending_shares[:] = np.nan
        cash_marks[first_row + i] = last_cash + flows
        position_marks[first_row + i] = last_positions + shares
        if i >= tradable:
            orders = orders_from_targets_nb(targets[i : i + 1], previous)[0]
            previous[:] = targets[i]
            if may_order and not np.isnan(orders).all():
                pending[:] = orders
                if sizes_at_close:
                    pending_shares[:] = size_at_close_nb(orders, closes[i], cash, free_cash, position, debt, terms)
    account[0], account[1] = cash, free_cash
    return fills[:n_records].copy()


@njit(cache=True)
def _grown(array: np.ndarray, used: int, capacity: int) -> np.ndarray:
    grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown
