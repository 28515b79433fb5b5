"""FastAGI transport: an asyncio server whose connections become :class:`AgiCall` objects.

We own the server loop and line reading (panoramisk 1.4's FastAGI server spins on an early
close, has no header timeout, swallows cancellation and reads one line per command, which
goes off by one after Asterisk's unsolicited ``HANGUP`` line).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ivr.audio.frames import AudioChunk, AudioClip
from ivr.audio.wav import read_wav
from ivr.config import AgiSettings, parse_hostport
from ivr.errors import AgiError, CallHangup, PromptError
from ivr.logs import CALL_ID
from ivr.telephony import agi_protocol as proto
from ivr.telephony.call import (
    CallCapabilities,
    CallHandler,
    CallInfo,
    DtmfResult,
    PlayResult,
    Prompt,
    QueueTarget,
    RecordResult,
)

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


class AgiCall:
    """One FastAGI session. Commands run one at a time; replies are read line by line."""

    caps = CallCapabilities(dtmf=True, transfer=True, streaming_audio=False, record=True)

    def __init__(
        self,
        info: CallInfo,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        settings: AgiSettings,
        observe_reply: Callable[[float], None] | None = None,
    ) -> None:
        self.info = info
        self._reader = reader
        self._writer = writer
        self._settings = settings
        self._observe = observe_reply
        self._last_reply_at = time.perf_counter()
        self.hangup_seen = False
        self.closed = False
        self.commands_sent = 0
        self.wants_hangup = False
        self.record_dirs: tuple[Path, str] | None = None
        """(local folder, the same folder as Asterisk sees it) for caller turns."""

    # Low level -------------------------------------------------------------
    async def _readline(self, timeout: float) -> str | None:
        """One line without its newline; None at end of stream."""
        try:
            async with asyncio.timeout(timeout):
                raw = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as err:
            if err.partial:
                raise AgiError("agi-protocol", "connection closed mid-line") from err
            self.closed = True
            return None
        except asyncio.LimitOverrunError as err:
            raise AgiError("agi-protocol", "reply line too long") from err
        except TimeoutError:
            raise  # (a subclass of OSError, but not a lost connection)
        except (ConnectionError, OSError) as err:
            self.closed = True
            raise CallHangup(f"connection lost: {err}") from err
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def command(self, line: str, *, secret: bool = False) -> proto.AgiReply:
        """Send one command and return its reply, skipping ``HANGUP`` notices."""
        if self.closed:
            raise CallHangup("connection already closed")
        now = time.perf_counter()
        if self._observe is not None:
            self._observe(now - self._last_reply_at)
        try:
            self._writer.write(line.encode() + b"\n")
            await self._writer.drain()
        except (ConnectionError, OSError) as err:
            self.closed = True
            raise CallHangup(f"connection lost: {err}") from err
        self.commands_sent += 1
        while True:
            try:
                text = await self._readline(self._settings.reply_timeout)
            except TimeoutError as err:
                raise AgiError("agi-reply-timeout", f"no reply to {line.split(' ')[0:2]}") from err
            if text is None:
                raise CallHangup("Asterisk closed the connection")
            if text == proto.HANGUP_LINE:
                self.hangup_seen = True
                continue
            reply = proto.parse_reply(text)
            if reply.code == 520 and text.startswith("520-"):
                await self._skip_usage()
                raise AgiError("agi-usage", f"Asterisk rejected {line.split(' ')[0:2]}")
            break
        self._last_reply_at = time.perf_counter()
        _LOG.debug("AGI %s -> %s", line if not secret else line.split(" ")[0:2],
                   reply.line if not secret else "(secret)")
        if reply.code == 511:
            self.hangup_seen = True
            raise CallHangup("channel is dead")
        if reply.code != 200:
            raise AgiError("agi-command-failed", f"{line.split(' ')[0:2]} -> {reply.line}")
        return reply

    async def _skip_usage(self) -> None:
        for _ in range(100):
            text = await self._readline(self._settings.hangup_grace)
            if text is None or text.startswith("520 "):
                return

    async def _after_failure(self, reply: proto.AgiReply, what: str) -> None:
        """``result=-1``: a hang-up (Asterisk follows with a ``HANGUP`` line) or a file Asterisk
        could not play (no ``HANGUP``; ``endpos=0`` when it never opened). Raise accordingly."""
        if not self.hangup_seen:
            try:
                text = await self._readline(self._settings.hangup_grace)
            except TimeoutError:
                text = ""
            if text == proto.HANGUP_LINE:
                self.hangup_seen = True
        if self.hangup_seen:
            raise CallHangup("caller hung up")
        if not reply.endpos:
            raise AgiError(
                "agi-prompt-missing",
                f"Asterisk could not play {what}: is the file where Asterisk reads prompts? "
                "(check prompts.sounds_dir and prompts.asterisk_dir)",
            )
        raise AgiError("agi-play-failed", f"Asterisk failed to play {what}")

    # Call protocol ---------------------------------------------------------
    async def answer(self) -> None:
        await self.command("ANSWER")

    async def play(self, prompt: Prompt, *, barge_in_keys: str = "") -> PlayResult:
        reply = await self.command(proto.stream_file(prompt.media, barge_in_keys))
        code = reply.result_int
        if code is not None and code < 0:
            await self._after_failure(reply, prompt.media)
        return PlayResult(interrupted_by=proto.digit_from_code(code))

    async def collect_dtmf(
        self, prompt: Prompt | None, *, max_digits: int, timeout: float, terminator: str = "#",
        secret: bool = False,
    ) -> DtmfResult:
        if prompt is None:
            return await self._wait_digits(max_digits, timeout, terminator)
        reply = await self.command(proto.get_data(prompt.media, timeout, max_digits), secret=secret)
        if reply.result and reply.result.startswith("-"):
            await self._after_failure(reply, prompt.media)
        digits = "".join(ch for ch in (reply.result or "") if ch in "0123456789*#ABCD")
        return DtmfResult(digits=digits, timed_out=reply.timed_out)

    async def _wait_digits(self, max_digits: int, timeout: float, terminator: str) -> DtmfResult:
        digits = ""
        while len(digits) < max_digits:
            reply = await self.command(proto.wait_for_digit(timeout))
            code = reply.result_int
            if code is not None and code < 0:
                raise CallHangup("caller hung up")
            key = proto.digit_from_code(code)
            if key is None:
                return DtmfResult(digits, timed_out=True)
            if key == terminator:
                break
            digits += key
        return DtmfResult(digits, timed_out=False)

    async def record_file(
        self, path: str, *, fmt: str = "wav", max_seconds: float, silence_seconds: float = 0
    ) -> int | None:
        """Record the caller to ``path`` on the Asterisk host; returns the end position."""
        reply = await self.command(proto.record_file(path, fmt, max_seconds, silence_seconds))
        if (reply.result_int or 0) < 0:
            raise CallHangup("caller hung up while recording")
        return reply.endpos

    async def exec_app(self, app: str, args: str = "") -> int | None:
        """Run a dialplan application (``EXEC app args``) and return its result code;
        ``-2`` means Asterisk has no such application loaded."""
        line = f"EXEC {proto.safe_arg(app, 'application')}"
        if args:
            line += f" {proto.safe_arg(args, 'application arguments')}"
        reply = await self.command(line)
        return reply.result_int

    async def record(self, *, max_seconds: float, silence_seconds: float,
                     escape_keys: str = "") -> RecordResult:
        """RECORD FILE into the folder Asterisk and Hotline share, then read and delete it.

        Asterisk's silence limit is whole seconds, so it is rounded up (at least 1 s).
        """
        if self.record_dirs is None:
            raise AgiError("agi-no-record-dir", "no shared folder for RECORD FILE is configured")
        local_dir, asterisk_dir = self.record_dirs
        name = f"turn-{self.info.call_id}-{uuid.uuid4().hex[:8]}"
        local = local_dir / f"{name}.wav"
        silence = max(1, math.ceil(silence_seconds - 1e-6))
        escape = "".join(k for k in escape_keys if k in "0123456789*#") or "#"
        try:
            reply = await self.command(proto.record_file(
                f"{asterisk_dir.rstrip('/')}/{name}", "wav", max_seconds, silence, escape))
            code = reply.result_int or 0
            if code < 0:
                raise CallHangup("caller hung up while recording")
            key = proto.digit_from_code(code) if reply.data == "dtmf" else None
            try:
                samples, rate = read_wav(local)
                clip: AudioClip | None = AudioClip(samples, rate)
            except PromptError as err:
                _LOG.debug("no turn audio: %s", err.message)
                clip = None
            return RecordResult(clip, key)
        finally:
            local.unlink(missing_ok=True)  # caller audio never lingers unencrypted

    async def stop_playback(self) -> None:
        raise AgiError("agi-not-streaming", "FastAGI plays prompts to the end")

    def audio_in(self) -> AsyncIterator[AudioChunk]:
        raise AgiError("agi-not-streaming", "FastAGI does not stream audio; use record()")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(proto.set_variable(name, value))

    async def transfer(self, target: QueueTarget) -> None:
        # extensions.conf reads these after the AGI session ends and runs Queue().
        await self.set_variable("IVR_QUEUE", target.name)
        await self.set_variable("IVR_PRIORITY", str(max(0, min(10, target.priority))))

    async def set_outcome(self, outcome: str, queue: str | None) -> None:
        await self.set_variable("IVR_OUTCOME", outcome)

    async def hangup(self) -> None:
        # Ending the session lets extensions.conf hang up with a normal clearing cause; the
        # AGI HANGUP command would leave cause 0 (Unknown) on both legs.
        self.wants_hangup = True

    async def close(self) -> None:
        """End the session: Asterisk then continues in its dialplan."""
        self.closed = True
        self._writer.close()
        try:
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            pass


class AgiServer:
    """The FastAGI CallSource: accepts Asterisk connections and runs a handler per call."""

    def __init__(
        self, settings: AgiSettings, *, observe_reply: Callable[[float], None] | None = None,
        overflow_queue: str = "customer_service",
        record_dirs: tuple[Path, str] | None = None,
    ) -> None:
        self._settings = settings
        self._record_dirs = record_dirs
        self._overflow_queue = overflow_queue
        self._observe = observe_reply
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.address: tuple[str, int] | None = None

    @property
    def active(self) -> int:
        return len(self._tasks)

    async def start(self, handler: CallHandler) -> tuple[str, int]:
        host, port = parse_hostport(self._settings.bind)

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await self._run_connection(reader, writer, handler)
            finally:
                self._tasks.discard(task)

        self._server = await asyncio.start_server(
            on_connect, host, port, limit=self._settings.max_line_bytes, backlog=1024
        )
        sock = self._server.sockets[0].getsockname()
        self.address = (sock[0], sock[1])
        _LOG.info("FastAGI listening on %s:%s", *self.address)
        return self.address

    async def serve(self, handler: CallHandler) -> None:
        if self._server is None:
            await self.start(handler)
        assert self._server is not None
        await self._server.serve_forever()

    async def _read_environment(self, reader: asyncio.StreamReader) -> proto.AgiEnvironment:
        lines: list[str] = []
        try:
            async with asyncio.timeout(self._settings.header_timeout):
                while True:
                    raw = await reader.readuntil(b"\n")
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

    async def _run_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: CallHandler
    ) -> None:
        call_id = uuid.uuid4().hex
        CALL_ID.set(call_id)
        try:
            env = await self._read_environment(reader)
        except AgiError as err:
            _LOG.warning("%s: %s", err.code, err.message)
            writer.close()
            return
        except (ConnectionError, OSError) as err:
            _LOG.warning("agi-closed-early: %s", err)
            writer.close()
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
        call = AgiCall(info, reader, writer, self._settings, self._observe)
        call._last_reply_at = started
        call.record_dirs = self._record_dirs
        if len(self._tasks) > self._settings.max_calls:
            # Over capacity: no flow, no prompt rendering; Asterisk's dialplan queues the call.
            _LOG.warning("agi-over-capacity: %d calls in progress", len(self._tasks) - 1)
            try:
                await call.set_variable("IVR_QUEUE", self._overflow_queue)
                await call.set_outcome("failed", None)
            except (CallHangup, AgiError):
                pass
            finally:
                await call.close()
            return
        try:
            await handler(call)
        except Exception:  # the handler is the flow boundary; this is the last net
            _LOG.exception("agi-handler-crashed")
        finally:
            await call.close()

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
