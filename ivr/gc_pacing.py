"""Full garbage collections on a clock instead of Python's own schedule.

A full collection walks every object the collector tracks; with a thousand calls in flight
that pauses the event loop (every call's next command) for tens of milliseconds, and
Python's own schedule runs one whenever a quarter more objects than the last one kept have
reached the oldest generation: every few seconds under calls. Young and middle collections
stay as they are (they are short); the full one runs every ``interval`` seconds from the
loop, so the pauses are rare and each one is measured. Cyclic garbage (a call's sockets
and transports point at each other, about twenty objects a call) then waits at most one
interval.

``gc.freeze()`` at start-up keeps the models and modules out of every collection; this
keeps the live calls' objects out of all but one collection per interval.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

__all__ = ["FullCollections", "NEVER"]

_LOG = logging.getLogger(__name__)

NEVER = 2**31 - 1
"""A generation-2 threshold Python's own schedule never reaches."""


class FullCollections:
    """Runs ``gc.collect()`` every ``interval`` seconds while :meth:`run` runs; meanwhile
    Python starts no full collection of its own. ``observe`` gets each one's duration."""

    def __init__(self, interval: float, observe: Callable[[float], None] | None = None) -> None:
        if interval <= 0:
            raise ValueError("the interval between full collections must be positive")
        self.interval = interval
        self._observe = observe
        self.collections = 0

    async def run(self) -> None:
        """Until cancelled; Python's own thresholds come back when it ends."""
        before = gc.get_threshold()
        gc.set_threshold(before[0], before[1], NEVER)
        try:
            while True:
                await asyncio.sleep(self.interval)
                self.collect()
        finally:
            gc.set_threshold(*before)

    def collect(self) -> int:
        start = time.perf_counter()
        found = gc.collect()
        took = time.perf_counter() - start
        self.collections += 1
        if self._observe is not None:
            self._observe(took)
        if took > 0.1:
            _LOG.info("gc-full-collection: %.0f ms, %d unreachable objects", took * 1000, found)
        return found
