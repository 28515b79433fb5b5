"""FastAGI transport: an asyncio server whose connections become :class:`AgiCall` objects.

We own the server loop and line reading (panoramisk 1.4's FastAGI server spins on an early
close, has no header timeout, swallows cancellation and reads one line per command, which
goes off by one after Asterisk's unsolicited ``HANGUP`` line). Each connection's bytes are
lines of :class:`~ivr.telephony.agi_lines.AgiLines` (a protocol, no StreamReader); one
session's commands and replies are :mod:`ivr.telephony.agi_session`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from ivr.errors import AgiError, CallHangup
from ivr.hostport import parse_hostport
from ivr.logs import CALL_ID
from ivr.telephony import agi_protocol as proto
from ivr.telephony.agi_allow import REFUSED, AllowList, RefusalLog
from ivr.telephony.agi_lines import AgiLines
from ivr.telephony.agi_session import AgiCall
from ivr.telephony.call import Call, CallHandler, CallInfo, QueueTarget
from ivr.telephony.settings import AgiSettings

__all__ = ["AgiCall", "AgiServer", "OverflowHandler", "channel_language"]

_LOG = logging.getLogger(__name__)
_LANGUAGES = {"en": "en-US", "zh": "zh-CN", "cn": "zh-CN"}


def channel_language(tag: str | None) -> str | None:
    """Asterisk's channel language (``en``, ``zh``) as a BCP 47 tag."""
    if not tag:
        return None
    if "-" in tag or "_" in tag:
        lang, _, region = tag.replace("_", "-").partition("-")
        return f"{lang.lower()}-{region.upper()}"
    return _LANGUAGES.get(tag.lower())


OverflowHandler = Callable[[Call, str], Awaitable[None]]
"""Takes a call over ``agi.max_calls`` and an error code (``agi-over-capacity``): it must
be cheap (no flow, no prompt) and leave the call on its way to a queue."""
OVER_CAPACITY = "agi-over-capacity"


class AgiServer:
    """The FastAGI CallSource: accepts Asterisk connections and runs a handler per call."""

    def __init__(
        self, settings: AgiSettings, *, observe_reply: Callable[[float], None] | None = None,
        overflow_queue: str = "customer_service",
        record_dirs: tuple[Path, str] | None = None,
        on_overflow: OverflowHandler | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._allow = AllowList(settings.allow)
        self._refusals = RefusalLog()
        self._on_refused = on_refused
        self._record_dirs = record_dirs
        self._overflow_queue = overflow_queue
        self._on_overflow = on_overflow or self._to_overflow_queue
        self._observe = observe_reply
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._admitted = 0  # sessions running the handler (the ones max_calls limits)
        self.address: tuple[str, int] | None = None

    @property
    def active(self) -> int:
        """Open FastAGI connections, whatever they are doing."""
        return len(self._tasks)

    async def start(self, handler: CallHandler) -> tuple[str, int]:
        host, port = parse_hostport(self._settings.bind)

        def connected(lines: AgiLines) -> None:
            if not self._admits(lines):
                return
            task = asyncio.get_running_loop().create_task(self._run_connection(lines, handler))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        limit = self._settings.max_line_bytes
        self._server = await asyncio.get_running_loop().create_server(
            lambda: AgiLines(limit, connected), host, port, backlog=1024)
        sock = self._server.sockets[0].getsockname()
        self.address = (sock[0], sock[1])
        _LOG.info("FastAGI listening on %s:%s", *self.address)
        return self.address

    async def serve(self, handler: CallHandler) -> None:
        if self._server is None:
            await self.start(handler)
        assert self._server is not None
        await self._server.serve_forever()

    def _admits(self, lines: AgiLines) -> bool:
        """``agi.allow``: a peer from elsewhere is closed before a byte is read."""
        peer = lines.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if self._allow.admits(host):
            return True
        lines.close()
        if self._on_refused is not None:
            self._on_refused(host)
        log_it, unlogged = self._refusals.note(time.monotonic())
        if log_it:
            _LOG.warning("%s: FastAGI connection from %s refused (not in agi.allow)%s", REFUSED,
                         host or "an unknown peer",
                         f"; {unlogged} more refused since the last such line" if unlogged else "")
        return False

    async def _read_environment(self, reader: AgiLines) -> proto.AgiEnvironment:
        lines: list[str] = []
        try:
            async with asyncio.timeout(self._settings.header_timeout):
                while True:
                    raw = await reader.readline()
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if not line:
                        break
                    lines.append(line)
                    if len(lines) > proto.MAX_ENV_LINES:
                        raise AgiError("agi-protocol", "environment block too long")
        except TimeoutError as err:
            raise AgiError("agi-header-timeout", "no complete AGI environment in time") from err
        except asyncio.IncompleteReadError as err:
            raise AgiError("agi-closed-early",
                           "connection closed before the environment ended") from err
        except asyncio.LimitOverrunError as err:
            raise AgiError("agi-protocol", "environment line too long") from err
        return proto.parse_environment(lines)

    async def _run_connection(self, lines: AgiLines, handler: CallHandler) -> None:
        call_id = uuid.uuid4().hex
        CALL_ID.set(call_id)
        try:
            env = await self._read_environment(lines)
        except AgiError as err:
            _LOG.warning("%s: %s", err.code, err.message)
            lines.close()
            return
        except (ConnectionError, OSError) as err:
            _LOG.warning("agi-closed-early: %s", err)
            lines.close()
            return
        started = time.perf_counter()
        info = CallInfo(
            call_id=call_id,
            transport="agi",
            route=env.script,
            caller=env.caller,
            caller_name=env.get("calleridname"),
            dialed=env.get("dnid") or env.get("extension"),
            language=channel_language(env.language),
            channel=env.get("channel"),
            extra={"uniqueid": env.get("uniqueid") or ""},
        )
        call = AgiCall(info, lines, self._settings, self._observe)
        call._last_reply_at = started
        call.record_dirs = self._record_dirs
        if self._admitted >= self._settings.max_calls:
            await self._turn_away(call)
            return
        self._admitted += 1
        try:
            await handler(call)
        except Exception:  # the handler is the flow boundary; this is the last net
            _LOG.exception("agi-handler-crashed")
        finally:
            self._admitted -= 1
            await call.close()

    async def _turn_away(self, call: AgiCall) -> None:
        """Over capacity: no flow, no prompt rendering; Asterisk's dialplan queues the call."""
        _LOG.warning("%s: %d calls in progress; caller sent to the default queue",
                     OVER_CAPACITY, self._admitted)
        try:
            await self._on_overflow(call, OVER_CAPACITY)
        except (CallHangup, AgiError):
            pass
        except Exception:  # the overflow handler is a flow boundary too
            _LOG.exception("agi-handler-crashed")
        finally:
            await call.close()

    async def _to_overflow_queue(self, call: Call, code: str) -> None:
        await call.transfer(QueueTarget(self._overflow_queue, 0))
        await call.set_outcome("queued", self._overflow_queue)

    async def drain(self, timeout: float) -> int:
        """Stop accepting calls, wait up to ``timeout`` for calls in progress; returns leftovers."""
        if self._server is not None:
            self._server.close()
        if not self._tasks:
            return 0
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)
