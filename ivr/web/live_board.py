"""The calls this instance is handling right now, and who is watching them.

:class:`LiveFeed` wraps each call's log (the same events the store gets) and tells the
:class:`LiveBoard`; the board keeps one small row per call in progress and pushes every
change to each watcher's queue (one per open live page). Nothing here waits: a watcher that
falls behind by more than its queue is dropped and told so (its page reconnects and gets a
fresh snapshot), so a slow browser never slows a call.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol

from ivr.events import EventKind
from ivr.security.masking import mask_phone

WATCHER_QUEUE = 1000
"""Changes a watcher may be behind before it is dropped (and reconnects)."""
MAX_WATCHERS = 50


@dataclass
class LiveCall:
    """One call in progress as the live page shows it (the caller's number masked)."""

    id: str
    transport: str
    caller: str
    language: str | None
    dialplan: str | None
    started: float
    """Wall clock (seconds since 1970) when the call started."""
    node: str | None = None
    distress: float | None = None
    escalated: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The row as the page gets it (what ``dataclasses.asdict`` gives, without its deep
        copy: every field is a plain value)."""
        return {"id": self.id, "transport": self.transport, "caller": self.caller,
                "language": self.language, "dialplan": self.dialplan, "started": self.started,
                "node": self.node, "distress": self.distress, "escalated": self.escalated}


class Watcher:
    """One open live page: a bounded queue of changes."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(WATCHER_QUEUE)
        self.dropped = False


class LiveBoard:
    """Calls in progress on this instance, and the pages watching them."""

    def __init__(self, instance_id: str = "") -> None:
        self.instance_id = instance_id
        self.calls: dict[str, LiveCall] = {}
        self._watchers: set[Watcher] = set()
        self.closed = False

    def snapshot(self) -> list[dict[str, Any]]:
        return [c.as_dict() for c in sorted(self.calls.values(), key=lambda c: c.started)]

    def watch(self) -> Watcher | None:
        """A new watcher (None when too many pages are open or the server is stopping)."""
        if self.closed or len(self._watchers) >= MAX_WATCHERS:
            return None
        watcher = Watcher()
        self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close(self) -> None:
        """Server stopping: every watcher's stream ends."""
        self.closed = True
        for watcher in list(self._watchers):
            self._drop(watcher)

    def _drop(self, watcher: Watcher) -> None:
        watcher.dropped = True
        self._watchers.discard(watcher)
        try:
            watcher.queue.put_nowait(None)
        except asyncio.QueueFull:
            watcher.queue.get_nowait()
            watcher.queue.put_nowait(None)

    def _publish(self, change: str, call: LiveCall, **extra: Any) -> None:
        if not self._watchers:  # nobody watching (the usual case): nothing to build
            return
        message = {"type": change, "call": call.as_dict(), "at": time.time(), **extra}
        for watcher in list(self._watchers):
            try:
                watcher.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(watcher)

    # What the feed reports --------------------------------------------------------
    def started(self, call_id: str, values: dict[str, Any]) -> None:
        call = LiveCall(id=call_id, transport=str(values.get("transport") or "?"),
                        caller=mask_phone(values.get("caller")),
                        language=values.get("language"), dialplan=values.get("dialplan_id"),
                        started=time.time())
        self.calls[call_id] = call
        self._publish("start", call)

    def event(self, call_id: str, kind: EventKind, node: str | None, data: dict[str, Any]) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        if kind == EventKind.NODE_ENTERED and node is not None:
            call.node = node
        elif kind == EventKind.DISTRESS and isinstance(data.get("score"), int | float):
            call.distress = round(float(data["score"]), 2)
        elif kind == EventKind.ESCALATION:
            call.escalated = True
        elif kind == EventKind.SET and isinstance(data.get("values"), dict):
            language = data["values"].get("language")
            call.language = language if isinstance(language, str) else call.language
        elif kind == EventKind.CALL_ENDED:
            self.calls.pop(call_id, None)
            self._publish("end", call, outcome=data.get("outcome"), queue=data.get("queue"))
            return
        else:
            return
        self._publish("update", call)


class CallObserver(Protocol):
    """Told what happens on every call, after the store (must not wait or raise)."""

    def started(self, call_id: str, values: dict[str, Any]) -> None: ...

    def event(self, call_id: str, kind: EventKind, node: str | None,
              data: dict[str, Any]) -> None: ...


class LiveFeed:
    """A call's log that also tells observers (the live board, the survey inviter); the
    events pass through to the log unchanged."""

    def __init__(self, log: Any, call_id: str, *observers: CallObserver) -> None:
        self._log = log
        self._call_id = call_id
        self._observers = observers

    def start(self, **values: Any) -> None:
        self._log.start(**values)
        for observer in self._observers:
            observer.started(self._call_id, values)

    def update(self, **values: Any) -> None:
        self._log.update(**values)

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None:
        self._log.event(kind, node, **data)
        for observer in self._observers:
            observer.event(self._call_id, kind, node, data)
