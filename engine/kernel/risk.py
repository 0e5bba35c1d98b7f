"""The risk gate: the limits every order passes before any broker executes it, in every mode.

A backtest (vectorized or replay), the dry run and an Alpaca session put the same gate between the
order router and the broker (engine.kernel.node): the broker asks it at each bar's close, with the
account as it stands there, which of the bar's target weights may become orders. So a limit acts
on the same bar, the same way, whoever fills the orders, and a backtest shows when it would have
tripped. The limits (a strategy's `[risk]` table, or `--kill-switch SPEC`, comma-separated
NAME=VALUE pairs):

- `daily_loss=0.02`: equity at a close is more than 2% below the day's opening equity (the last
  close of the previous New York day; the initial equity on the first day);
- `order_notional=50000`: an order worth more than $50,000 at the close it was decided on
  (|target weight x equity - position x close|);
- `orders_per_minute=60`: more orders decided within any 60 seconds of the bars' clock (with bars a
  minute or more apart: more than 60 orders at one bar), counting those that trade (not a target
  already held);
- `difference=0.01`: the broker's account differs from the ledger by more than 1% of equity (a
  paper account reset, a position opened outside the session);
- `position_cap=0.5`: no symbol's target beyond 50% of equity (long or short): larger targets are
  cut to the cap;
- `gross_exposure=1.0`: the sum of the absolute targets at most 100% of equity: a bar's targets
  beyond it are scaled down together.

The first four are a kill switch: hitting one halts trading (`engine paper halt` does it by hand):
that bar's orders and every later one are refused, a live broker cancels its open orders, and the
session goes on marking its books. The caps only cut the targets beyond them. Every trip, cut and
refusal is a `RiskEvent` on the bus (topic RISK), kept with the run's result.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from engine.errors import UserError
from engine.kernel.bars import EXCHANGE_ZONE
from engine.kernel.bus import EventBus
from engine.kernel.events import AccountDifference
from engine.kernel.topics import RECONCILIATION, RISK
from engine.strategies.schema import RiskSpec

MANUAL = "manual"
WHOLE_NUMBERS = ("orders_per_minute",)
_ROUNDING = 1e-12  # what float rounding may add: a target at its cap is not cut, a held target trades nothing


class RiskSpecError(UserError):
    """A --kill-switch SPEC that cannot be read."""


def parse_kill_switch(spec: str) -> dict[str, float | int]:
    """A --kill-switch SPEC's limits by name, to override the strategy's `[risk]` table with (which
    validates them as it validates the file's)."""
    names = list(RiskSpec.model_fields)
    values: dict[str, float | int] = {}
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        name, _, text = (piece.strip() for piece in item.partition("="))
        if name not in names:
            raise RiskSpecError(f"--kill-switch {spec!r}: unknown limit {name!r} (use {', '.join(names)})")
        if name in values:
            raise RiskSpecError(f"--kill-switch {spec!r}: {name} is given twice")
        try:
            value = int(text) if name in WHOLE_NUMBERS else float(text)
        except ValueError:
            value = -1
        if not value > 0 or value == float("inf"):
            raise RiskSpecError(f"--kill-switch {spec!r}: {name} needs a positive number, not {text!r}")
        values[name] = value
    return values


@dataclass(frozen=True)
class RiskEvent:
    """What the gate did at the close of the bar stamped `timestamp`: `halted` trading (the limit that
    tripped), `refused` a halted session's orders, or `capped` targets beyond a cap. `targets`: the
    target weights it refused or cut, by symbol, as the strategy decided them."""

    timestamp: np.datetime64
    limit: str
    action: str  # "halted", "refused" or "capped"
    reason: str
    targets: dict[str, float] = field(default_factory=dict)

    def record(self) -> dict:
        """As stored with a run (risk.json)."""
        return asdict(self) | {"timestamp": str(pd.Timestamp(self.timestamp, tz="UTC"))}


def risk_record(limits: RiskSpec, events: list[RiskEvent]) -> dict:
    """What a run stores of its gate (risk.json): the limits, when it halted and why, how many orders
    it refused and cut, and every event."""
    halts = [event for event in events if event.action == "halted"]
    refused = [event for event in events if event.action != "capped"]
    return {
        "limits": limits.describe(),
        "halted": halts[0].record() if halts else None,
        "refused_orders": sum(len(event.targets) for event in refused),
        "capped_orders": sum(len(event.targets) for event in events if event.action == "capped"),
        "events": [event.record() for event in events],
    }


def risk_summary(record: dict) -> str:
    """One line on what the gate did in a run (its `risk_record`)."""
    halted, refused, capped = record["halted"], record["refused_orders"], record["capped_orders"]
    if halted is None and not capped:
        limits = ", ".join(f"{name}={value:g}" for name, value in record["limits"].items())
        return f"risk gate: {limits}, never tripped"
    parts = [f"halted at {halted['timestamp']} ({halted['reason']}), {refused} orders refused"] if halted else []
    parts += [f"{capped} targets cut to the caps"] if capped else []
    return "risk gate: " + "; ".join(parts)


class RiskGate:
    """The limits, applied at each close to the weights the router ordered there."""

    def __init__(self, limits: RiskSpec, initial_equity: float, halted: str | None = None) -> None:
        """`halted`: why trading already stopped (a resumed session's halt stays in force)."""
        self.limits = limits
        self.halted = halted
        self._bus: EventBus | None = None
        self._symbols: tuple[str, ...] = ()
        self._equity = initial_equity  # at the last close seen
        self._day: object | None = None  # the New York date of the last close seen
        self._day_start = initial_equity  # the equity the day opened with
        self._decided: deque[tuple[np.datetime64, int]] = deque()  # orders decided in the last minute
        self._events: list[RiskEvent] = []  # to publish once the lock is released
        self._lock = threading.Lock()  # a halt by hand comes from another thread

    @property
    def watches_bars(self) -> bool:
        return self.limits.watches_bars

    def attach(self, bus: EventBus, symbols: tuple[str, ...]) -> None:
        self._bus, self._symbols = bus, symbols
        bus.subscribe(RECONCILIATION, self.on_difference)

    def at_close(
        self, stamp: np.datetime64, weights: np.ndarray, closes: np.ndarray, cash: float, positions: np.ndarray
    ) -> np.ndarray:
        """The weights that may become orders at this close (NaN: no order), the account standing at
        `cash` and `positions` (shares per symbol) after the bar's fills."""
        with self._lock:
            equity = float(cash + positions @ closes)
            self._new_bar(stamp, equity)
            ordered = ~np.isnan(weights)
            if ordered.any() and self.halted is None:
                self._check_orders(stamp, weights, ordered, closes, equity, positions)
            if ordered.any() and self.halted is not None:
                self._emit(RiskEvent(stamp, "halted", "refused", f"trading is halted ({self.halted})", self._targets(weights)))
                weights = np.full_like(weights, np.nan)
            elif ordered.any():
                held = np.where(ordered, 0.0, np.abs(positions * closes)).sum() / equity if equity > 0 else 0.0
                weights = self._capped(stamp, weights, held)
        self._publish()
        return weights

    def _new_bar(self, stamp: np.datetime64, equity: float) -> None:
        day = pd.Timestamp(stamp, tz="UTC").tz_convert(EXCHANGE_ZONE).date()
        if self._day is not None and day != self._day:
            self._day_start = self._equity  # the previous day's last close
        self._day, self._equity = day, equity
        loss = 1.0 - equity / self._day_start if self._day_start > 0 else 0.0
        limit = self.limits.daily_loss
        if self.halted is None and limit is not None and loss > limit:
            self._trip(stamp, "daily_loss", f"equity fell {loss:.2%} today, beyond the daily_loss limit of {limit:.2%}")

    def _check_orders(self, stamp, weights, ordered, closes, equity, positions) -> None:
        limits = self.limits
        notional = np.abs(np.where(ordered, weights, 0.0) * equity - positions * closes) * ordered
        if limits.order_notional is not None:
            column = int(np.argmax(notional))
            if notional[column] > limits.order_notional:
                self._trip(
                    stamp,
                    "order_notional",
                    f"an order of ${notional[column]:,.2f} ({self._symbols[column]}) is above the order_notional "
                    f"limit of ${limits.order_notional:,.2f}",
                )
                return
        if limits.orders_per_minute is not None:
            while self._decided and stamp - self._decided[0][0] >= np.timedelta64(60, "s"):
                self._decided.popleft()
            trading = notional > _ROUNDING * max(equity, 1.0)  # a target already held trades nothing
            self._decided.append((stamp, int(trading.sum())))
            if sum(count for _, count in self._decided) > limits.orders_per_minute:
                reason = f"more than {limits.orders_per_minute} orders in a minute (orders_per_minute)"
                self._trip(stamp, "orders_per_minute", reason)

    def _capped(self, stamp: np.datetime64, weights: np.ndarray, held: float) -> np.ndarray:
        """`weights` within the caps; `held`: the gross weight of the symbols not ordered at this bar."""
        limits, capped = self.limits, weights
        if limits.position_cap is not None:
            cap = limits.position_cap
            over = np.abs(np.nan_to_num(capped)) > cap + _ROUNDING
            if over.any():
                self._emit(RiskEvent(stamp, "position_cap", "capped", f"targets beyond {cap:.2%} of equity cut to it",
                                     self._targets(np.where(over, capped, np.nan))))  # fmt: skip
                capped = np.where(over, np.sign(capped) * cap, capped)
        if limits.gross_exposure is not None:
            ordered = float(np.nansum(np.abs(capped)))
            if ordered > 0 and held + ordered > limits.gross_exposure + _ROUNDING:  # exits are never cut
                self._emit(RiskEvent(stamp, "gross_exposure", "capped",
                                     f"{held + ordered:.2%} of equity gross, scaled down to the gross_exposure limit of "
                                     f"{limits.gross_exposure:.2%}", self._targets(capped)))  # fmt: skip
                capped = capped * (max(limits.gross_exposure - held, 0.0) / ordered)
        return capped

    def on_difference(self, difference: AccountDifference) -> None:
        """A reconciliation finding: beyond `difference` of equity, trading halts."""
        with self._lock:
            if self.halted is None and difference.worth > self.limits.difference * max(difference.equity, 1.0):
                self._trip(
                    difference.timestamp,
                    "difference",
                    f"the broker's {difference.field} ({difference.broker:g}) differs from the ledger's ({difference.ledger:g})",
                )
        self._publish()

    def halt(self, reason: str, stamp: np.datetime64) -> None:
        """Trip by hand (`engine paper halt`), from any thread."""
        with self._lock:
            if self.halted is None:
                self._trip(stamp, MANUAL, reason)
        self._publish()

    def _trip(self, stamp: np.datetime64, limit: str, reason: str) -> None:
        self.halted = reason
        self._emit(RiskEvent(stamp, limit, "halted", reason))

    def _emit(self, event: RiskEvent) -> None:
        self._events.append(event)

    def _publish(self) -> None:
        """Publish what the gate did, outside its lock (a broker's handler may wait for the bar in hand)."""
        with self._lock:
            events, self._events = self._events, []
        for event in events:
            if self._bus is not None:
                self._bus.publish(RISK, event)

    def _targets(self, weights: np.ndarray) -> dict[str, float]:
        return {symbol: float(weight) for symbol, weight in zip(self._symbols, weights, strict=True) if not np.isnan(weight)}
