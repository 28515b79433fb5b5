"""PostgreSQL LISTEN: a wake-up when another process changed something (no polling).

A trigger (migration 0010) runs ``pg_notify('ivr_dialplans', '')`` whenever a dialplan
version is published, by whoever publishes it. :class:`Notifications` holds one connection
from the engine's pool that LISTENs; on SQLite, or while that connection is broken, it says
so (``listening`` false) and the caller polls as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_LOG = logging.getLogger(__name__)
DIALPLANS = "ivr_dialplans"


class Notifications:
    """LISTEN on one channel; :meth:`wait` returns early when a notification arrives."""

    def __init__(self, engine: AsyncEngine, channel: str) -> None:
        self._engine = engine
        self._channel = channel
        self._event = asyncio.Event()
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    @property
    def supported(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    @property
    def listening(self) -> bool:
        return self._driver is not None and not self._driver.is_closed()

    def _notified(self, *_args: Any) -> None:
        self._event.set()

    async def listen(self) -> bool:
        """(Re)start listening; True when notifications will arrive."""
        if not self.supported:
            return False
        if self.listening:
            return True
        await self.close()
        conn: AsyncConnection | None = None
        try:
            conn = await self._engine.connect()
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.add_listener(self._channel, self._notified)
        except Exception as err:  # asyncpg's own errors too: polling goes on either way
            _LOG.warning("store-listen-failed: polling instead (%s)", type(err).__name__)
            if conn is not None:
                self._conn = conn
                await self.close()
            return False
        self._conn, self._driver = conn, driver
        self._event.set()  # something may have changed while nobody listened
        return True

    async def wait(self, timeout: float) -> bool:
        """Wait for a notification at most ``timeout`` s; True when one came."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True

    async def close(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            # Never back to the pool with a LISTEN on it; the connection may be dead already,
            # and whatever the driver raises then must not stop the caller.
            try:
                await conn.invalidate()
            except Exception:
                _LOG.debug("invalidating the LISTEN connection failed", exc_info=True)
            try:
                await conn.close()
            except Exception:
                _LOG.debug("closing the LISTEN connection failed", exc_info=True)
