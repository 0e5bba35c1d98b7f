"""A paper session's kill switch: the limits past which it stops sending orders (`--kill-switch SPEC`).

SPEC is comma-separated NAME=VALUE pairs:

- `daily_loss=0.02`: equity down 2% from the first bar of its New York day;
- `order_notional=50000`: an order worth more than $50,000 at the close it was sized at;
- `orders_per_minute=60`: more orders sent in any 60 seconds;
- `difference=0.01`: the broker's account differs from the ledger by more than 1% of equity
  (a paper account reset, a position opened outside the session).

Hitting one cancels the session's open orders and sends nothing more (`engine paper stop --flatten`
also sells what it holds); the reason is journaled and shown by `engine paper status`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from engine.errors import UserError

DEFAULT_DIFFERENCE = 0.01


class KillSwitchError(UserError):
    """A --kill-switch SPEC that cannot be read."""


@dataclass(frozen=True)
class KillSwitch:
    daily_loss: float | None = None
    order_notional: float | None = None
    orders_per_minute: int | None = None
    difference: float = DEFAULT_DIFFERENCE

    @classmethod
    def parse(cls, spec: str) -> KillSwitch:
        names = {field.name: field for field in fields(cls)}
        values: dict[str, float | int] = {}
        for item in (part.strip() for part in spec.split(",") if part.strip()):
            name, _, text = item.partition("=")
            name = name.strip()
            if name not in names:
                raise KillSwitchError(f"--kill-switch {spec!r}: unknown limit {name!r} (use {', '.join(names)})")
            try:
                value = int(text) if name == "orders_per_minute" else float(text)
            except ValueError:
                value = -1
            if not value > 0 or value == float("inf"):
                raise KillSwitchError(f"--kill-switch {spec!r}: {name} needs a positive number, not {text.strip()!r}")
            values[name] = value
        return cls(**values)
