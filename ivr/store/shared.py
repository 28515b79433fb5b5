"""Redis, for the little state that must be shared between instances yet is not worth a
database row (see docs/scale-out.md for each use). Optional: with ``[redis] url`` empty each
instance keeps that state in its own memory.

Redis is never on a caller's critical path: every command has a short timeout, and on any
failure the instance says so once (``redis-unavailable``, counted), uses its own memory for
``retry_seconds`` and then tries Redis again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ivr.store.settings import RedisSettings

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
UNAVAILABLE = "redis-unavailable"


class SharedState:
    """One Redis client for the whole server; :meth:`run` gives None instead of raising."""

    def __init__(self, settings: RedisSettings, prefix: str = "ivr:",
                 on_error: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        import redis.asyncio as aioredis

        self.settings = settings
        self.prefix = prefix
        self._on_error = on_error
        self._clock = clock
        self._client: Any = aioredis.Redis.from_url(
            settings.url, socket_timeout=settings.timeout,
            socket_connect_timeout=settings.timeout, retry_on_timeout=False)
        self._down_until = 0.0
        self.failures = 0

    @property
    def up(self) -> bool:
        """False while the instance is using its own memory after a failure."""
        return self._clock() >= self._down_until

    def key(self, name: str) -> str:
        return self.prefix + name

    async def run(self, command: Callable[[Any], Awaitable[_T]]) -> _T | None:
        """``command(client)``, or None when Redis is (recently) down."""
        if not self.up:
            return None
        try:
            return await command(self._client)
        except Exception as err:  # any Redis trouble: degrade, never fail the call
            self.failures += 1
            self._down_until = self._clock() + self.settings.retry_seconds
            _LOG.error("%s: %s; using this instance's own memory for %.0f s", UNAVAILABLE,
                       type(err).__name__, self.settings.retry_seconds)
            if self._on_error is not None:
                self._on_error(UNAVAILABLE)
            return None

    async def close(self) -> None:
        try:
            await self._client.aclose()
        except Exception:  # closing a client whose server is gone
            _LOG.debug("redis close failed", exc_info=True)
