"""The ledger: the engine's own books. Cash and positions from the broker's fills, equity marked at
each close, and a comparison with the broker's account.

Fills may come at any time. A fill is booked at the bar whose timestamp is the last at or before
the fill's (a fill at a bar's open belongs to that bar's close). One that arrives after that close
was marked restates the marks from there on, so a broker that reports late ends with the same
books as one that reports at once.
"""

from __future__ import annotations

import numpy as np

from engine.execution.result import ExecutionResult
from engine.kernel.bars import Bars
from engine.kernel.bus import EventBus
from engine.kernel.events import FILL_DTYPES, NO_FILLS, AccountDifference, AccountSnapshot, BarChunk, Fills
from engine.kernel.marks import Marks
from engine.kernel.topics import ACCOUNT, CLOSES, FILLS, RECONCILIATION

# A broker's account may differ from the ledger by rounding, never by more.
CASH_TOLERANCE = 1e-6  # relative to the account's equity
POSITION_TOLERANCE = 1e-9  # shares


def _flows(fills: Fills, rows: np.ndarray, n_rows: int, n_symbols: int) -> tuple[np.ndarray, np.ndarray]:
    """Cash and shares each of `n_rows` bars receives from `fills` booked at `rows`."""
    cash = np.zeros(n_rows)
    np.add.at(cash, rows, fills.cash_flow)
    shares = np.zeros((n_rows, n_symbols))
    np.add.at(shares, (rows, fills.column), fills.side * fills.size)
    return cash, shares


class Ledger:
    def __init__(self, bus: EventBus, symbols: tuple[str, ...], initial_cash: float) -> None:
        self.symbols = symbols
        self.initial_cash = initial_cash
        self.cash = initial_cash  # after every fill received so far
        self.positions = np.zeros(len(symbols))
        self.differences: list[AccountDifference] = []
        self._bus = bus
        self._marks = Marks(len(symbols))
        self._chunks: list[Bars] = []
        self._fills: list[Fills] = []
        self._fill_count = 0
        self._unmarked: list[Fills] = []  # fills for bars not marked yet
        bus.subscribe(FILLS, self.on_fills)
        bus.subscribe(CLOSES, self.on_closes)
        bus.subscribe(ACCOUNT, self.on_account)

    @property
    def fill_count(self) -> int:
        return self._fill_count

    def on_fills(self, fills: Fills) -> None:
        if not len(fills):
            return
        self._fills.append(fills)
        self._fill_count += len(fills)
        self.cash += fills.cash_flow.sum()
        np.add.at(self.positions, fills.column, fills.side * fills.size)
        marked = self._marks.length
        late = fills.timestamp <= self._marks.timestamps[marked - 1] if marked else np.zeros(len(fills), dtype=bool)
        if late.any():
            rows = self._marks.rows_of(fills.timestamp[late])
            if (rows < 0).any():
                raise ValueError(f"a fill at {fills.timestamp[late][rows < 0][0]} predates the first bar of the run")
            self._restate(_take(fills, late), rows)
        if not late.all():
            self._unmarked.append(_take(fills, ~late))

    def on_closes(self, event: BarChunk) -> None:
        """Mark each bar of the chunk at its close, with every fill booked up to it."""
        bars, marks = event.bars, self._marks
        last = marks.length - 1
        last_cash, last_positions = marks.last(self.initial_cash)
        rows = marks.extend(bars.timestamps)
        cash, positions = marks.cash[rows], marks.positions[rows]  # the new marks, filled in place
        cash[:], positions[:] = last_cash, last_positions
        if self._unmarked:
            pending = Fills.concat(self._unmarked)
            later = pending.timestamp > bars.timestamps[-1]  # they wait for the bar they belong to
            self._unmarked = [_take(pending, later)] if later.any() else []
            pending = _take(pending, ~later)
            rows = np.searchsorted(bars.timestamps, pending.timestamp, side="right") - 1
            before = rows < 0  # stamped after the last marked bar but before this chunk: that bar's
            if before.any():  # restating it moves this chunk's marks alike
                self._restate(_take(pending, before), np.full(int(before.sum()), last))
            cash_flow, shares = _flows(_take(pending, ~before), rows[~before], len(bars), len(self.symbols))
            cash += np.cumsum(cash_flow)
            positions += np.cumsum(shares, axis=0, out=shares)  # in place: no second panel
        self._chunks.append(bars)

    def _restate(self, fills: Fills, rows: np.ndarray) -> None:
        """Book fills at bars already marked (`rows`): every mark from the earliest of them on moves."""
        marks, first = self._marks, int(rows.min())
        cash_flow, shares = _flows(fills, rows - first, marks.length - first, len(self.symbols))
        marks.cash[first : marks.length] += np.cumsum(cash_flow)
        marks.positions[first : marks.length] += np.cumsum(shares, axis=0, out=shares)  # in place: no second panel

    def on_account(self, snapshot: AccountSnapshot) -> None:
        """Compare the broker's account with the books; publish and keep every difference."""
        closes = self._last_close()
        equity = self.cash + float(np.abs(self.positions) @ closes)
        stamp, found = snapshot.timestamp, []
        if abs(snapshot.cash - self.cash) > CASH_TOLERANCE * max(abs(equity), 1.0):
            found.append(AccountDifference(stamp, "cash", self.cash, snapshot.cash, 1.0, equity))
        for column, symbol in enumerate(self.symbols):
            theirs = snapshot.positions.get(symbol, 0.0)
            if abs(theirs - self.positions[column]) > POSITION_TOLERANCE:
                found.append(
                    AccountDifference(stamp, symbol, float(self.positions[column]), theirs, float(closes[column]), equity)
                )
        for symbol in sorted(set(snapshot.positions) - set(self.symbols)):
            if snapshot.positions[symbol] != 0:
                found.append(AccountDifference(stamp, symbol, 0.0, snapshot.positions[symbol], 0.0, equity))
        for difference in found:
            self.differences.append(difference)
            self._bus.publish(RECONCILIATION, difference)

    def _last_close(self) -> np.ndarray:
        return self._chunks[-1].close[-1] if self._chunks else np.zeros(len(self.symbols))

    def result(self) -> ExecutionResult:
        """The books at the end of the run; fills for the last marked bar that no later marks have taken
        are booked there."""
        if self._unmarked:
            pending = Fills.concat(self._unmarked)
            self._unmarked = []
            self._restate(pending, np.maximum(self._marks.rows_of(pending.timestamp), 0))
        marks, length = self._marks, self._marks.length
        fills = Fills.concat(self._fills) if self._fills else NO_FILLS
        return ExecutionResult.marked(
            Bars.concat(self._chunks),
            marks.cash[:length],
            marks.positions[:length],
            fills,
            marks.rows_of(fills.timestamp),
            self.initial_cash,
        )


def _take(fills: Fills, which: np.ndarray) -> Fills:
    return Fills(
        tuple(oid for oid, keep in zip(fills.order_id, which, strict=True) if keep),
        *(getattr(fills, name)[which] for name in FILL_DTYPES),
    )
