"""Progress of long work (training folds and epochs, a backtest's stages), told to whoever listens.

The walk-forward, the training loop and the backtest say here what they are doing; a face (the
CLI's progress display, a notebook) listens for the duration of a `with listening(listener):`
block. A model plugin's `fit` has no place for a callback, and threading one through every layer
would touch every signature; a context variable reaches the training loop whatever calls it.
With no listener, reporting costs a lookup and does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class ProgressListener(Protocol):
    def stage(self, description: str, total: int | None, unit: str) -> None:
        """A new stage begins (the previous one is over); `total`: how many of `unit` (a singular noun:
        "bar") it will take, if known."""

    def advance(self, steps: int) -> None:
        """The current stage has done `steps` more of its total."""

    def notice(self, text: str) -> None:
        """Something the user should know while the stage goes on (a rate limit being waited out)."""


_listener: ContextVar[ProgressListener | None] = ContextVar("engine_progress_listener", default=None)


def stage(description: str, total: int | None = None, unit: str = "") -> None:
    listener = _listener.get()
    if listener is not None:
        listener.stage(description, total, unit)


def advance(steps: int = 1) -> None:
    listener = _listener.get()
    if listener is not None:
        listener.advance(steps)


def notice(text: str) -> None:
    listener = _listener.get()
    if listener is not None:
        listener.notice(text)


@contextmanager
def listening(listener: ProgressListener) -> Iterator[ProgressListener]:
    token = _listener.set(listener)
    try:
        yield listener
    finally:
        _listener.reset(token)
