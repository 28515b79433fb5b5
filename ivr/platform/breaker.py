"""Circuit breakers: a pure one (the clock is passed in) and one shared by instances."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivr.store.shared import SharedState


@dataclass
class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``reset_seconds`` lets one trial
    through (half-open); a success closes it, a failure opens it again."""

    failures: int = 5
    reset_seconds: float = 30.0
    _count: int = 0
    _opened_at: float | None = None
    _trial: bool = False

    def state(self, now: float) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if now - self._opened_at >= self.reset_seconds else "open"

    def allow(self, now: float) -> bool:
        """May a request go out now?"""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self._count, self._opened_at, self._trial = 0, None, False

    def failure(self, now: float) -> None:
        self._count += 1
        if self._trial or self._count >= self.failures:
            self._opened_at, self._trial = now, False


class SharedBreaker:
    """A :class:`CircuitBreaker` whose failures and open state all instances share through
    Redis (``shared``): ``failures`` consecutive failures counted over all instances open it
    for all of them for ``reset_seconds``; then requests go out again and the first trial
    that fails opens it again for all. With no Redis, or while Redis is down, the local
    breaker decides alone (each instance learns the backend is down for itself)."""

    def __init__(self, local: CircuitBreaker, shared: SharedState | None, name: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.local = local
        self._shared = shared
        self._name = name
        self._clock = clock

    def _key(self, what: str) -> str:
        assert self._shared is not None
        return self._shared.key(f"breaker:{self._name}:{what}")

    def _reset_ms(self) -> int:
        return max(1, int(self.local.reset_seconds * 1000))

    async def allow(self, now: float) -> bool:
        """May a request go out now? (``now``: the local breaker's monotonic clock)"""
        if not self.local.allow(now):
            return False
        if self._shared is None:
            return True
        is_open = await self._shared.run(lambda r: r.exists(self._key("open")))
        return not is_open  # open elsewhere until its mark expires

    async def success(self) -> None:
        self.local.success()
        if self._shared is not None:
            await self._shared.run(lambda r: r.delete(self._key("failures"), self._key("open")))

    async def failure(self, now: float) -> None:
        self.local.failure(now)
        if self._shared is None:
            return

        async def count(r: Any) -> int:
            async with r.pipeline(transaction=True) as pipe:
                pipe.incr(self._key("failures"))
                pipe.pexpire(self._key("failures"), self._reset_ms())
                got = await pipe.execute()
            return int(got[0])

        total = await self._shared.run(count)
        if self.local.state(now) != "closed" or (total or 0) >= self.local.failures:
            await self._shared.run(lambda r: r.set(self._key("open"), str(self._clock()),
                                                   px=self._reset_ms()))
