"""Recording bookkeeping never fails a call.

Whatever goes wrong starting, pausing, resuming or finishing a call's recording (a key
missing, a full disk, a database refusing the row) becomes an ``alert`` event on the call,
counted in ``ivr_errors``, and the call goes on, unrecorded if need be. One thing is never
given up for that: if the recording cannot be paused before a secret is keyed in, the
secret is not collected (``rec-pause-failed``: the flow boundary hands the caller to an
agent with an apology) rather than risk recording it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from ivr.errors import CallHangup, IvrError
from ivr.events import EventKind, EventSink
from ivr.recording.api import CallRecording, RecordingError
from ivr.recording.capture import describe

_LOG = logging.getLogger(__name__)


class CountedAlerts:
    """An event sink that also counts each ``alert`` event by its code (``ivr_errors``)."""

    def __init__(self, log: EventSink, count: Callable[[str], None] | None) -> None:
        self._log = log
        self._count = count

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None:
        self._log.event(kind, node, **data)
        if kind is EventKind.ALERT and self._count is not None:
            self._count(str(data.get("code") or "rec-alert"))


class GuardedRecording:
    """Wraps one call's recording so that its trouble is reported, never raised."""

    def __init__(self, inner: CallRecording, log: EventSink) -> None:
        self._inner = inner
        self._log = log

    def _alert(self, code: str, what: str, err: BaseException) -> None:
        _LOG.error("%s: %s: %s", code, what, describe(err), exc_info=not isinstance(err, IvrError))
        self._log.event(EventKind.ALERT, code=code, message=f"{what}: {describe(err)}"[:300])

    async def start(self) -> None:
        """Start recording; on failure the call goes on unrecorded."""
        try:
            await self._inner.start()
        except CallHangup:
            raise
        except Exception as err:
            code = err.code if isinstance(err, IvrError) else "rec-start-failed"
            self._alert(code, "call not recorded", err)

    async def finish(self) -> None:
        """Finish recording, whatever happened to the call (never raises an Exception)."""
        try:
            await self._inner.finish()
        except Exception as err:
            self._alert("rec-finish-failed", "recording not finished", err)

    @contextlib.asynccontextmanager
    async def paused(self, node: str) -> AsyncIterator[None]:
        """Pause around a secret; a failed resume is an alert, a failed pause stops the
        secret from being collected (``rec-pause-failed``)."""
        pause = self._inner.paused(node)
        try:
            await pause.__aenter__()
        except CallHangup:
            raise
        except Exception as err:
            self._alert("rec-pause-failed", f"recording not paused before {node}", err)
            if isinstance(err, RecordingError):
                raise
            raise RecordingError("rec-pause-failed", "could not pause the recording before a "
                                 "secret") from err
        try:
            yield
        except BaseException as exc:
            await self._resume(pause, node, exc)
            raise
        await self._resume(pause, node, None)

    async def _resume(self, pause: AbstractAsyncContextManager[None], node: str,
                      exc: BaseException | None) -> None:
        try:
            await pause.__aexit__(type(exc) if exc else None, exc,
                                  exc.__traceback__ if exc else None)
        except Exception as err:
            if err is exc:
                return  # the body's own exception passing through: the caller re-raises it
            if isinstance(err, CallHangup) and exc is None:
                raise
            self._alert("rec-resume-failed", f"recording not resumed after {node}", err)
