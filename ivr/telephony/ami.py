"""AMI through panoramisk: queue position and wait for callers, callbacks placed by Originate.

Not a transport: it serves both FastAGI and ARI calls (``QueueInfo`` for the flow). The
connection is ours: panoramisk's ``Manager`` reconnects on a fixed timer it cannot be told
to stop, so :class:`AmiLink` opens the socket itself (capped backoff), hands it to the
manager for login and actions, and notices a lost connection. While AMI is down,
``wait()`` answers None at once and calls go on without the announcement.

Asterisk's figures (``QueueSummary``, one event per queue): ``Callers`` waiting,
``Available`` members, ``HoldTime`` (average seconds, 0 with no history yet).

Events: the login asks for none (``Events: off``) unless something subscribed (see
:meth:`AmiLink.subscribe`), then only for the classes subscribed (``agent`` for app_queue's
``AgentComplete``). A subscriber gets the event's fields as a plain ``dict[str, str]``;
whatever it raises is logged and never reaches the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable
from typing import Any, Protocol

from panoramisk import Manager

from ivr.telephony.call import CallInfo, QueueWait
from ivr.telephony.settings import AmiSettings

_LOG = logging.getLogger(__name__)


class _Manager(Manager):  # panoramisk has no type hints
    """A manager that never reconnects by itself; :class:`AmiLink` does."""

    lost: asyncio.Event
    pinger: Any

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self.lost.set()


class AmiLink:
    """One logged-in AMI connection, kept up with capped backoff."""

    def __init__(self, settings: AmiSettings,
                 on_state: Callable[[bool], None] | None = None) -> None:
        self.settings = settings
        self.manager: _Manager | None = None
        self.connected = False
        self._on_state = on_state
        self._stop = asyncio.Event()
        self._subscribers: list[tuple[str, Callable[[dict[str, str]], object]]] = []
        self._classes: set[str] = set()

    def subscribe(self, event: str, callback: Callable[[dict[str, str]], object],
                  event_class: str) -> None:
        """Call ``callback(fields)`` for every ``event`` (Asterisk's name, e.g.
        ``AgentComplete``) of class ``event_class`` (``agent``); before :meth:`run`."""
        self._subscribers.append((event, callback))
        self._classes.add(event_class)

    def _dispatcher(self, callback: Callable[[dict[str, str]], object]
                    ) -> Callable[[Any, Any], None]:
        def dispatch(_manager: Any, message: Any) -> None:
            try:
                fields = {str(k): str(v) for k, v in dict(message).items()}
                callback(fields)
            except Exception:  # a hostile or odd event never ends the AMI connection
                _LOG.exception("ami-event-failed: an AMI event could not be handled")
        return dispatch

    async def run(self) -> None:
        delay = self.settings.reconnect_min
        while not self._stop.is_set():
            manager = await self._connect()
            if manager is None:
                await self._sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_max)
                continue
            delay = self.settings.reconnect_min
            self.manager, self.connected = manager, True
            self._state(True)
            _LOG.info("ami-connected: %s:%d", self.settings.host, self.settings.port)
            stop = asyncio.ensure_future(self._stop.wait())
            lost = asyncio.ensure_future(manager.lost.wait())
            try:
                await asyncio.wait({stop, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                lost.cancel()
                self.manager, self.connected = None, False
                self._state(False)
                with contextlib.suppress(Exception):
                    manager.close()
            if not self._stop.is_set():
                _LOG.warning("ami-disconnected: reconnecting")
                await self._sleep(delay)

    def _state(self, up: bool) -> None:
        if self._on_state is not None:
            self._on_state(up)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds * random.uniform(0.8, 1.0)):
                await self._stop.wait()

    async def _connect(self) -> _Manager | None:
        s = self.settings
        loop = asyncio.get_running_loop()
        manager = _Manager(host=s.host, port=s.port, username=s.username, secret=s.secret,
                           loop=loop, events=",".join(sorted(self._classes)) or "off",
                           ping_delay=10, ping_interval=10)
        manager.lost = asyncio.Event()
        for event, callback in self._subscribers:
            manager.register_event(event, self._dispatcher(callback))
        connecting = asyncio.ensure_future(loop.create_connection(
            manager.config["protocol_factory"], s.host, s.port))
        try:
            async with asyncio.timeout(s.timeout * 2):
                await asyncio.wait({connecting})
                if connecting.exception() is not None:
                    raise OSError(str(connecting.exception()))
                manager.connection_made(connecting)  # sends Login
                login = manager.authenticated_future
                reply = await login if login is not None else None
        except (OSError, TimeoutError) as err:
            connecting.cancel()
            _LOG.warning("ami-unreachable: %s:%d (%s)", s.host, s.port, str(err)[:120])
            with contextlib.suppress(Exception):
                manager.close()
            return None
        if reply is None or not getattr(reply, "success", False):
            _LOG.error("ami-login-refused: check [ami] username/secret against manager.conf")
            with contextlib.suppress(Exception):
                manager.close()
            return None
        return manager

    async def action(self, action: dict[str, str], timeout: float | None = None) -> Any:
        """One action's answer (a list for event lists); None when AMI is down or slow."""
        manager = self.manager
        if manager is None:
            return None
        try:
            async with asyncio.timeout(timeout or self.settings.timeout):
                return await manager.send_action(dict(action))
        except (TimeoutError, OSError, AttributeError) as err:
            _LOG.warning("ami-action-failed: %s (%s)", action.get("Action"), type(err).__name__)
            return None

    async def stop(self) -> None:
        self._stop.set()


def _int(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


async def queue_wait(link: AmiLink, queue: str) -> QueueWait | None:
    """``QueueSummary`` for ``queue``: position a caller joining now would have, and the
    queue's average hold time."""
    answer = await link.action({"Action": "QueueSummary", "Queue": queue})
    if not isinstance(answer, list):
        return None
    for message in answer:
        if message.get("Event") == "QueueSummary" and message.get("Queue") == queue:
            return QueueWait(queue=queue, position=_int(message.get("Callers")) + 1,
                             hold_seconds=_int(message.get("HoldTime")),
                             available=_int(message.get("Available")))
    return None


async def originate(link: AmiLink, channel: str, queue: str, caller_id: str) -> str | None:
    """Dial ``channel`` and put whoever answers into ``queue``; None on success, else why."""
    answer = await link.action({"Action": "Originate", "Channel": channel,
                                "Application": "Queue", "Data": queue,
                                "CallerID": caller_id, "Timeout": "30000", "Async": "true"},
                                timeout=40.0)
    if answer is None:
        return "ami-unavailable"
    messages = answer if isinstance(answer, list) else [answer]
    final = messages[-1]
    if final.get("Response") == "Success" and (
            len(messages) > 1 or "queued" not in str(final.get("Message", ""))):
        return None
    return str(final.get("Reason") or final.get("Message") or "failed")[:200]


def callback_channel(template: str, number: str) -> str:
    """The channel to dial back ``number`` (only ``+`` and digits reach the dialplan)."""
    return template.replace("{number}", re.sub(r"[^+0-9]", "", number))


class CallbackStore(Protocol):
    """Where callback requests live (the store's ``CallbackRepository``)."""

    async def add(self, call_id: str, caller: str, queue: str, language: str) -> str: ...

    async def recent(self, limit: int = 50, status: str | None = None) -> list[Any]: ...

    async def claim(self, ident: str, retry_seconds: float) -> bool: ...

    async def attempt(self, ident: str, status: str, error: str | None = None) -> None: ...


class AmiQueues:
    """:class:`~ivr.telephony.call.QueueInfo` over AMI, and the callback dialler."""

    def __init__(self, link: AmiLink, store: CallbackStore) -> None:
        self.link = link
        self.store = store
        self._last_try: dict[str, float] = {}

    async def wait(self, queue: str) -> QueueWait | None:
        if not self.link.connected:
            return None
        return await queue_wait(self.link, queue)

    async def request_callback(self, info: CallInfo, queue: str, language: str) -> str:
        return await self.store.add(info.call_id, info.caller or "", queue, language)

    async def dial_pending(self) -> int:
        """One pass: ring back each pending caller whose queue has a free member; a request
        that fails ``callback_attempts`` times is ``failed``. Returns calls placed."""
        s = self.link.settings
        placed = 0
        loop = asyncio.get_running_loop()
        for request in await self.store.recent(limit=100, status="pending"):
            if loop.time() - self._last_try.get(request.id, -1e9) < s.callback_retry_seconds:
                continue
            wait = await self.wait(request.queue)
            if wait is None or wait.available < 1:
                continue
            self._last_try[request.id] = loop.time()
            # Every instance runs a dialler over the same list: only the one that claims the
            # request in the database dials it.
            if not await self.store.claim(request.id, s.callback_retry_seconds):
                continue
            error = await originate(self.link, callback_channel(s.callback_channel,
                                                                request.caller),
                                    request.queue, request.caller)
            if error is None:
                placed += 1
                await self.store.attempt(request.id, "done")
            else:
                last = request.attempts + 1 >= s.callback_attempts
                _LOG.warning("ami-callback-failed: attempt %d: %s", request.attempts + 1, error)
                await self.store.attempt(request.id, "failed" if last else "pending", error)
        return placed

    async def run_dialler(self) -> None:
        while True:
            await asyncio.sleep(self.link.settings.callback_poll_seconds)
            try:
                await self.dial_pending()
            except Exception:  # the store or AMI hiccups: try again next round
                _LOG.exception("ami-dialler-failed")
