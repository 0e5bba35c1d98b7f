"""Typed, immutable events carried by the bus.

Market data, targets and orders carry a chunk: one or more consecutive timestamps across one or
more symbols. What a broker answers (order updates, fills, account snapshots) is stamped with
the time it happened and may arrive at any time. Arrays inside events are read-only (see
`engine.kernel.bars`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.kernel.bars import Bars, _frozen


@dataclass(frozen=True, slots=True, eq=False)
class BarChunk:
    """Market data for a chunk of timestamps."""

    bars: Bars


@dataclass(frozen=True, slots=True, eq=False)
class TargetChunk:
    """Target weights of equity per symbol, one row per bar of `bars`, as published by `stage`.

    A row is decided at that bar's close and may use that bar's data, never a later one.
    `signal` is the first stage's output for the same bars (a model's probabilities, or a rule's
    weights), carried along so that overlays can use it; the first stage's own chunk carries itself.
    """

    stage: str
    bars: Bars
    weights: np.ndarray
    signal: np.ndarray | None = None

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.shape != self.bars.shape:
            raise ValueError(f"stage {self.stage!r} returned weights of shape {weights.shape}, expected {self.bars.shape}")
        object.__setattr__(self, "weights", _frozen(weights))
        object.__setattr__(self, "signal", self.weights if self.signal is None else self.signal)


def order_id(strategy: str, decided_at: np.datetime64, symbol: str) -> str:
    """The id of the order `strategy` decided at the close of the bar stamped `decided_at` for `symbol`.

    Deterministic, so an order sent again after a crash is recognisably the same order (a broker
    such as Alpaca refuses a second order with the same client order id). At most 128 characters.
    """
    return order_ids(strategy, np.array([np.datetime64(decided_at, "s")]), [symbol])[0]


def order_ids(strategy: str, decided_at: np.ndarray, symbols: Sequence[str]) -> tuple[str, ...]:
    """`order_id` of each of `symbols` with its entry of `decided_at`, the stamps formatted at once."""
    stamps = np.datetime_as_string(decided_at.astype("datetime64[s]"), unit="s")
    prefix = strategy[:80]
    return tuple(
        f"{prefix}-{stamp.replace('-', '').replace(':', '')}Z-{symbol}" for stamp, symbol in zip(stamps, symbols, strict=True)
    )


@dataclass(frozen=True, slots=True)
class Order:
    """One order: move `symbol` to `target_weight` of equity at the open after `decided_at`."""

    order_id: str
    symbol: str
    column: int
    decided_at: np.datetime64
    target_weight: float


@dataclass(frozen=True, slots=True, eq=False)
class OrderBatch:
    """Target-weight orders decided at the close of each bar of `bars` (NaN: no order for that symbol).

    Each order fills at the open of the bar after the one it was decided on. `strategy` names the
    orders (see `order_id`).
    """

    bars: Bars
    target_weights: np.ndarray
    strategy: str = "run"

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_weights", _frozen(np.asarray(self.target_weights, dtype=np.float64)))

    def orders(self, row: int) -> list[Order]:
        """The orders decided at the close of bar `row` of the chunk."""
        decided_at, weights = self.bars.timestamps[row], self.target_weights[row]
        columns = np.flatnonzero(~np.isnan(weights))
        symbols = [self.bars.symbols[column] for column in columns]
        ids = order_ids(self.strategy, np.full(len(columns), decided_at), symbols)
        return [
            Order(oid, symbol, int(column), decided_at, float(weights[column]))
            for oid, symbol, column in zip(ids, symbols, columns, strict=True)
        ]


ORDER_STATES = ("accepted", "partially_filled", "filled", "rejected", "cancelled")


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A broker's news about one order: its new state (one of ORDER_STATES) and how much has filled."""

    order_id: str
    symbol: str
    status: str
    timestamp: np.datetime64
    filled_size: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Fills:
    """Executed orders, keyed by symbol and time, in execution order; one array entry per fill.

    A fill may arrive at any time, not only with the bars it belongs to: the ledger books it at the
    bar whose timestamp is the last at or before the fill's. `price` includes slippage; `fees` is the
    commission paid; `side` is +1 for a buy, -1 for a sell; `column` indexes the pipeline's symbols.
    """

    order_id: tuple[str, ...]
    timestamp: np.ndarray  # datetime64[ns]
    decided_at: np.ndarray  # datetime64[ns]
    column: np.ndarray  # int64
    side: np.ndarray  # int8
    size: np.ndarray
    price: np.ndarray
    fees: np.ndarray
    slippage_cost: np.ndarray
    target_weight: np.ndarray

    def __post_init__(self) -> None:
        for name, dtype in FILL_DTYPES.items():
            object.__setattr__(self, name, _frozen(np.asarray(getattr(self, name), dtype=dtype).reshape(-1)))
        if any(len(getattr(self, name)) != len(self.order_id) for name in FILL_DTYPES):
            raise ValueError("every field of Fills needs one entry per fill")

    def __len__(self) -> int:
        return len(self.order_id)

    @property
    def cash_flow(self) -> np.ndarray:
        """What each fill did to cash: a buy pays its notional and fees, a sell receives its notional less fees."""
        return -self.side * self.size * self.price - self.fees

    @staticmethod
    def at_opens(bars, bar, column, side, size, price, fees, target_weight, strategy: str) -> Fills:
        """Fills at the opens of `bars`' rows `bar`, each of an order `strategy` decided at the close
        before; the slippage paid is the price's distance from that open."""
        decided_at = bars.timestamps[bar - 1]
        return Fills(
            order_ids(strategy, decided_at, [bars.symbols[col] for col in column]),
            timestamp=bars.timestamps[bar],
            decided_at=decided_at,
            column=column,
            side=side,
            size=size,
            price=price,
            fees=fees,
            slippage_cost=size * np.abs(price - bars.open[bar, column]),
            target_weight=target_weight,
        )

    @staticmethod
    def from_records(records: list[tuple]) -> Fills:
        """Fills from (order id, timestamp, decided at, column, side, size, price, fees, slippage
        cost, target weight) tuples, one per fill."""
        if not records:
            return NO_FILLS
        order_ids, *fields = zip(*records, strict=True)
        return Fills(order_ids, *fields)

    @staticmethod
    def concat(parts: list[Fills]) -> Fills:
        return Fills(
            tuple(oid for part in parts for oid in part.order_id),
            *(np.concatenate([getattr(part, name) for part in parts]) for name in FILL_DTYPES),
        )


FILL_DTYPES = {
    "timestamp": "datetime64[ns]",
    "decided_at": "datetime64[ns]",
    "column": np.int64,
    "side": np.int8,
    "size": np.float64,
    "price": np.float64,
    "fees": np.float64,
    "slippage_cost": np.float64,
    "target_weight": np.float64,
}
NO_FILLS = Fills((), *(np.empty(0, dtype=dtype) for dtype in FILL_DTYPES.values()))


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The broker's view of the account at `timestamp`: cash and shares held per symbol."""

    timestamp: np.datetime64
    cash: float
    positions: dict[str, float]


@dataclass(frozen=True, slots=True)
class AccountDifference:
    """Where the ledger and the broker's account disagree: `field` is "cash" or a symbol's position.
    `price`: what one unit of the field is worth (1 for cash, the last close for shares, 0 for a
    symbol the session does not trade); `equity`: the ledger's at that close."""

    timestamp: np.datetime64
    field: str
    ledger: float
    broker: float
    price: float = 1.0
    equity: float = 0.0

    @property
    def worth(self) -> float:
        """The size of the difference in account currency."""
        return abs(self.difference) * self.price

    @property
    def difference(self) -> float:
        return self.broker - self.ledger


@dataclass(frozen=True, slots=True)
class EndOfData:
    """The feed has no more bars."""
