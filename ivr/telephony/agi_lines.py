"""One FastAGI connection as lines: an :class:`asyncio.Protocol`, no StreamReader.

At a thousand calls the streams layer (``StreamReader.readuntil``, ``StreamWriter.drain``,
their protocol) was about a third of the server's CPU per command. FastAGI needs much less:
every message is one line, each reply is read by the one task that runs the call, and
commands are a few dozen bytes. Here ``data_received`` splits what arrives into lines once,
a waiting :meth:`AgiLines.readline` is woken by a plain future, and a write only waits while
the transport asks us to (its buffer is full).

The errors are the ones the session handles from a StreamReader: ``IncompleteReadError`` at
end of stream (its ``partial`` holds a line cut off by the close), ``LimitOverrunError`` for
a line longer than the limit (the connection is then useless: it stays that way), the
connection's own ``OSError`` once it is lost, and whatever :meth:`set_exception` was given.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["AgiLines"]

_MAX_QUEUED_LINES = 64
"""Complete lines held for the session before the transport stops reading (Asterisk sends a
reply, sometimes a ``HANGUP`` line, then waits for the next command)."""


class AgiLines(asyncio.Protocol):
    """Reads lines and writes commands for one FastAGI session."""

    def __init__(self, limit: int, on_connect: Callable[[AgiLines], None]) -> None:
        self._limit = limit
        self._on_connect = on_connect
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._partial = b""  # the start of a line whose newline has not come yet
        self._lines: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._overrun = False
        self._error: BaseException | None = None  # sticky: every later read raises it
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._lost = False
        self._closed: asyncio.Future[None] = self._loop.create_future()

    # asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._on_connect(self)

    def data_received(self, data: bytes) -> None:
        if self._overrun:
            return
        if self._partial:
            data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        limit = self._limit
        for line in lines:
            if len(line) > limit:
                self._overrun = True
                break
            self._lines.append(line)
        if len(self._partial) > limit:
            self._overrun = True
        if self._overrun:
            self._partial = b""
        elif len(self._lines) > _MAX_QUEUED_LINES and not self._reading_paused:
            assert self.transport is not None
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return True  # half-closed: replies already written may still go out (as streams do)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if exc is None:
            self._eof = True
        elif self._error is None:
            self._error = exc
        self._wake()
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionResetError("connection lost"))
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # Reading -------------------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def set_exception(self, exc: BaseException) -> None:
        """Fail the waiting read, and every later one, with ``exc``."""
        self._error = exc
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def readline(self) -> bytes:
        """The next line without its ``\\n`` (a ``\\r`` before it stays)."""
        while True:
            if self._error is not None:
                raise self._error
            if self._lines:
                line = self._lines.popleft()
                if self._reading_paused and len(self._lines) <= _MAX_QUEUED_LINES // 2:
                    self._reading_paused = False
                    if self.transport is not None and not self._lost:
                        self.transport.resume_reading()
                return line
            if self._overrun:
                raise asyncio.LimitOverrunError(f"a line longer than {self._limit} bytes", 0)
            if self._eof:
                partial, self._partial = self._partial, b""
                raise asyncio.IncompleteReadError(partial, None)
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    # Writing -------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Send ``data``; raises ``ConnectionResetError`` once the connection is gone."""
        if self._lost or self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("connection lost")
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the transport's write buffer is over its high-water mark."""
        if not self._writing_paused:
            return
        if self._lost:
            raise ConnectionResetError("connection lost")
        self._drain_waiter = self._loop.create_future()
        await self._drain_waiter

    @property
    def must_drain(self) -> bool:
        return self._writing_paused

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def wait_closed(self) -> None:
        await self._closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self.transport is None:
            return default
        return self.transport.get_extra_info(name, default)
