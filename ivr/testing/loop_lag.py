"""How late the event loop runs a short timer: what every call on it feels."""

from __future__ import annotations

import asyncio
import time


class LoopLag:
    """Run :meth:`run` as a task next to the work under test; ``worst`` is the longest delay
    (seconds) of a ``tick`` timer beyond its due time."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.worst = 0.0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Tick until :meth:`stop`."""
        while not self._stop.is_set():
            started = time.monotonic()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, time.monotonic() - started - self.tick)

    def stop(self) -> None:
        """End :meth:`run` after its current tick."""
        self._stop.set()
