"""The helper tasks of one WebRTC call, owned by a TaskGroup scoped to that call.

A call's helpers (the caller's audio in, the recording drain, the time limit; in the headless
caller: listening and running its steps) run beside the call's own work and never outlive
it: leaving the ``async with`` block cancels them and waits until they are gone. A helper
that fails is logged and ends alone; the call's own work goes on, and its own error (if any)
leaves the block as it was raised, not wrapped in an ``ExceptionGroup``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

_LOG = logging.getLogger(__name__)


class CallTasks:
    """``async with CallTasks("webrtc-1a2b") as tasks: tasks.start(work(), "receive")``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._group = asyncio.TaskGroup()
        self._tasks: list[asyncio.Task[None]] = []
        self._works: list[Coroutine[Any, Any, None]] = []
        self._closing = False

    async def __aenter__(self) -> CallTasks:
        await self._group.__aenter__()
        return self

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` until it returns or the call's block ends (callbacks may call this)."""
        if self._closing:  # the call is over: nothing new starts
            work.close()
            return
        task = self._group.create_task(self._guarded(work, name), name=f"{self.name}-{name}")
        self._tasks.append(task)
        self._works.append(work)

    async def _guarded(self, work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except Exception:  # one helper's failure never ends the call's own work
            _LOG.exception("webrtc-helper-failed: %s", name)

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        try:
            if exc is not None and isinstance(exc, Exception):
                await self._group.__aexit__(None, None, None)  # ``exc`` propagates unwrapped
            else:
                await self._group.__aexit__(et, exc, tb)
        finally:
            for work in self._works:  # a helper cancelled before it began never ran
                work.close()
