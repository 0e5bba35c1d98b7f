"""A wake-up call for the sandbox's streams: whatever waits for the replay to move (a bar released,
an order's state changed) waits on the pulse, and whatever moves it beats the pulse."""

from __future__ import annotations

import asyncio


class Pulse:
    """Used from the server's event loop only, like everything it wakes."""

    def __init__(self) -> None:
        self._beat = asyncio.Event()

    def beat(self) -> None:
        self._beat.set()
        self._beat = asyncio.Event()

    async def wait(self, timeout: float | None = None) -> None:
        """Until the next beat, or `timeout` seconds."""
        beat = self._beat
        try:
            await asyncio.wait_for(beat.wait(), timeout)
        except TimeoutError:
            pass
