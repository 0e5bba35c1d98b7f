"""The feed port: what pushes bars into a pipeline.

A pipeline is fed, not pulled: a feed calls `push(chunk)` with each chunk of consecutive bars, in
time order, as they become available (the whole history at once, slices of it, or one bar at a
time as a live stream closes them), and returns when it has no more. The caller then closes the
pipeline. Every chunk has the same symbols, in the same order.

Built in: `historical` (engine.feeds.historical). A plugin adds a feed through the `engine_feeds`
hook: a class (or factory) with a `name`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from engine.kernel.bars import Bars


class Feed(Protocol):
    name: str
    symbols: tuple[str, ...]

    def run(self, push: Callable[[Bars], None]) -> None:
        """Push every chunk, in time order; return when the feed has ended."""
        ...
