"""A synchronous, deterministic event bus.

Handlers run in the order they subscribed, immediately and depth-first: when a handler publishes,
that event is fully dispatched before the publishing handler continues. One thread, no clocks,
so a run is a pure function of its inputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    def clear(self) -> None:
        """Forget every handler (the run has ended)."""
        self._handlers.clear()

    def publish(self, topic: str, event: Any) -> None:
        for handler in self._handlers.get(topic, ()):
            handler(event)
