"""Faults the sandbox injects on demand, the failures a client of Alpaca must survive, drawn from
generators seeded by `--seed` so the same calls meet the same faults.

A SPEC is comma-separated `name=value` pairs (`engine sandbox --faults`, or `PUT /admin/faults`
while it runs):

- `drop_every=N`: a stream connection is closed after every N data messages it sent;
- `drop_at=TIME`: once the replayed clock has reached TIME, each stream connection open then is
  closed (after the next batch it sends);
- `rate_limit=F`: that fraction of REST calls is answered 429 with `Retry-After: retry_after` seconds (default 1);
- `server_error=F`: that fraction is answered 500, 502 or 503, before anything is done;
- `lost_reply=F`: that fraction of POSTs is carried out, then answered 504 (the reply "lost" on the way);
- `slow=F`: that fraction of replies is sent `delay` seconds late (default 1), after the work is done;
- `duplicate=F`, `out_of_order=F`: that fraction of stream messages is sent twice, or after the next one;
- `reject=F`: that fraction of orders is rejected on arrival (status `rejected`, a `rejected` trade update);
- `partial=F`: that fraction of `qty` orders fills in two parts, half on its first bar and the rest
  on the next one it can fill on (a day order may expire in between).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, fields

import pandas as pd

from engine.data.timestamps import parse_utc

FRACTIONS = ("rate_limit", "server_error", "lost_reply", "slow", "duplicate", "out_of_order", "reject", "partial")
SECONDS = ("retry_after", "delay")


class FaultSpecError(ValueError):
    """A SPEC that cannot be read; the message names the part that is wrong."""


@dataclass(frozen=True)
class Faults:
    drop_every: int | None = None
    drop_at: pd.Timestamp | None = None
    rate_limit: float = 0.0
    retry_after: float = 1.0
    server_error: float = 0.0
    lost_reply: float = 0.0
    slow: float = 0.0
    delay: float = 1.0
    duplicate: float = 0.0
    out_of_order: float = 0.0
    reject: float = 0.0
    partial: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Faults:
        names = [field.name for field in fields(cls)]
        values: dict = {}
        for part in filter(None, (part.strip() for part in spec.split(","))):
            name, equals, text = part.partition("=")
            name, text = name.strip(), text.strip()
            if not equals or name not in names:
                raise FaultSpecError(f"{part!r}: a fault is name=value, the names {', '.join(names)}")
            if name in values:
                raise FaultSpecError(f"{part!r}: {name} is given twice")
            values[name] = _value(name, text)
        return cls(**values)

    def describe(self) -> str:
        """The SPEC that gives these faults back: only what differs from none."""
        quiet = Faults()
        parts = []
        for field in fields(self):
            value = getattr(self, field.name)
            if value != getattr(quiet, field.name):
                text = value.isoformat() if isinstance(value, pd.Timestamp) else value
                parts.append(f"{field.name}={text}")
        return ",".join(parts)


def _value(name: str, text: str):
    if name == "drop_every":
        if not text.isdigit() or int(text) < 1:
            raise FaultSpecError(f"drop_every={text}: give a whole number of messages, at least 1")
        return int(text)
    if name == "drop_at":
        stamp = parse_utc(text)
        if stamp is None:
            raise FaultSpecError(f"drop_at={text}: give a time, like 2021-03-02T15:30Z")
        return stamp
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if name in FRACTIONS and not 0.0 <= number <= 1.0:
        raise FaultSpecError(f"{name}={text}: give a fraction from 0 to 1")
    if name in SECONDS and not 0.0 <= number <= 3600.0:
        raise FaultSpecError(f"{name}={text}: give seconds from 0 to 3600")
    return number


class FaultState:
    """The faults in force and their dice. Each kind of fault draws from its own generator, seeded by
    the sandbox's seed and its name, so turning one fault on does not move another's draws."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.seed = seed
        self.injected: Counter[str] = Counter()  # faults met since the sandbox started, by kind
        self.set(faults)

    def set(self, faults: Faults) -> None:
        """Put these faults in force, with their dice thrown afresh from the seed."""
        self.faults = faults
        self._dice = {name: random.Random(f"{self.seed}:{name}") for name in FRACTIONS + ("server_error_status",)}
        self.drop_generation = 0  # how many times the clock has crossed drop_at
        self._dropped_at: pd.Timestamp | None = None

    def hits(self, name: str) -> bool:
        """Whether this call meets the fault `name` (a fraction of calls does); counted in `injected`."""
        chance = getattr(self.faults, name)
        hit = chance > 0.0 and self._dice[name].random() < chance
        if hit:
            self.injected[name] += 1
        return hit

    def server_error_status(self) -> int:
        return self._dice["server_error_status"].choice((500, 502, 503))

    def observe_time(self, now: pd.Timestamp) -> int:
        """The drop generation at replayed time `now`: it moves on once, when now first reaches drop_at."""
        drop_at = self.faults.drop_at
        if drop_at is not None and now >= drop_at and self._dropped_at != drop_at:
            self._dropped_at = drop_at
            self.drop_generation += 1
        return self.drop_generation
