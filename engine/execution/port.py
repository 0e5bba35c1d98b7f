"""The broker port: what executes the pipeline's orders.

A broker attaches to the bus before the stages, so it sees each chunk of bars first (the open it
fills at). It listens to ORDERS (target weights decided at a bar's close, to fill at the next
open), asks the risk gate at each close which of them may go (`gate.at_close` with the account as
it stands there: engine.kernel.risk), and answers on the bus: ORDER_UPDATES (accepted, partially filled, filled, rejected,
cancelled), FILLS (whenever they happen, late ones included) and, if it has an account to show,
ACCOUNT snapshots that the ledger compares with its books.

Built in: `sim` (engine.execution.broker: event-driven, fills as each chunk's orders arrive) and
`vectorized` (engine.execution.vectorized: one vectorbt simulation when the feed ends). A plugin
adds a broker through the `engine_brokers` hook: a class (or factory) with a `name`, called with
the strategy's `ExecutionRules`. A broker that cannot stop between the bars of a chunk to ask the
gate (as `vectorized`, which simulates once the feed ends) says so with `gated = False`; the
node then runs a strategy whose limits watch every bar through `sim`, which fills alike.
"""

from __future__ import annotations

from typing import Protocol

from engine.kernel.bus import EventBus
from engine.kernel.risk import RiskGate


class Broker(Protocol):
    name: str

    def attach(self, bus: EventBus, symbols: tuple[str, ...], gate: RiskGate) -> None:
        """Subscribe to the bus; `symbols` are the columns of every chunk and order batch; `gate`
        decides at each close which orders may go."""
        ...
