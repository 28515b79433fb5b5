"""One FastAGI session as a :class:`~ivr.telephony.call.Call`: commands out, replies in.

Replies are read line by line (Asterisk's unsolicited ``HANGUP`` line is skipped, not taken
as the next reply). A session that stops answering is dead: after one reply timeout it is
closed and every later command fails at once, so a silent peer never holds a call slot.
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
from ivr.errors import AgiError, CallHangup, PromptError
from ivr.telephony import agi_protocol as proto
from ivr.telephony.agi_lines import AgiLines
from ivr.telephony.call import (
    CallCapabilities,
    CallInfo,
    DtmfResult,
    PlayResult,
    Prompt,
    QueueTarget,
    RecordResult,
    clamp_priority,
)
from ivr.telephony.prompt_files import read_wav
from ivr.telephony.settings import AgiSettings

_LOG = logging.getLogger(__name__)


class AgiCall:
    """One FastAGI session. Commands run one at a time; replies are read line by line."""

    caps = CallCapabilities(dtmf=True, transfer=True, streaming_audio=False, record=True,
                            recording="mixmonitor")

    def __init__(
        self,
        info: CallInfo,
        lines: AgiLines,
        settings: AgiSettings,
        observe_reply: Callable[[float], None] | None = None,
    ) -> None:
        self.info = info
        self._lines = lines
        self._settings = settings
        self._observe = observe_reply
        self._last_reply_at = time.perf_counter()
        self.hangup_seen = False
        self.closed = False
        self._dead: AgiError | None = None  # why we gave up on the session, if we did
        self.commands_sent = 0
        self.wants_hangup = False
        self.transferred = False
        self.record_dirs: tuple[Path, str] | None = None
        """(local folder, the same folder as Asterisk sees it) for caller turns."""
        self._reply_deadline: float | None = None  # loop time; set while a reply is awaited
        self._watchdog: asyncio.TimerHandle | None = None

    # The reply timeout -------------------------------------------------------
    # One timer per call rather than one per command: the watchdog fires at the deadline it
    # was set for, and when the reply it waited for came meanwhile it sleeps on to the
    # current deadline. A timer per command cost the loop more than the command itself.
    def _await_reply(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._reply_deadline = loop.time() + timeout
        if self._watchdog is None:
            self._watchdog = loop.call_at(self._reply_deadline, self._watch)

    def _watch(self) -> None:
        self._watchdog = None
        deadline = self._reply_deadline
        if deadline is None or self.closed:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < deadline:
            self._watchdog = loop.call_at(deadline, self._watch)
        else:  # the read waiting for the reply raises it
            self._lines.set_exception(TimeoutError("no reply in time"))

    # Low level -------------------------------------------------------------
    async def _readline(self, timeout: float | None) -> str | None:
        """One line without its newline; None at end of stream. ``timeout`` None: the reply
        timeout's watchdog (see :meth:`_await_reply`) limits the wait."""
        try:
            if timeout is None:
                raw = await self._lines.readline()
            else:
                async with asyncio.timeout(timeout):
                    raw = await self._lines.readline()
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
        if self._dead is not None:
            raise AgiError(self._dead.code, f"session already closed: {self._dead.message}")
        if self.closed:
            raise CallHangup("connection already closed")
        now = time.perf_counter()
        if self._observe is not None:
            self._observe(now - self._last_reply_at)
        try:
            self._lines.write(line.encode() + b"\n")
            if self._lines.must_drain:
                await self._lines.drain()
        except (ConnectionError, OSError) as err:
            self.closed = True
            raise CallHangup(f"connection lost: {err}") from err
        self.commands_sent += 1
        self._await_reply(self._settings.reply_timeout)
        try:
            reply = await self._read_reply(line, secret)
        finally:
            self._reply_deadline = None
        self._last_reply_at = time.perf_counter()
        _LOG.debug("AGI %s -> %s", line if not secret else line.split(" ")[0:2],
                   reply.line if not secret else "(secret)")
        if reply.code == 511:
            self.hangup_seen = True
            raise CallHangup("channel is dead")
        if reply.code != 200:
            raise AgiError("agi-command-failed", f"{line.split(' ')[0:2]} -> {reply.line}")
        return reply

    async def _read_reply(self, line: str, secret: bool) -> proto.AgiReply:
        """The reply to ``line``, skipping ``HANGUP`` notices."""
        while True:
            try:
                text = await self._readline(None)
            except TimeoutError as err:
                raise self._give_up(AgiError(
                    "agi-reply-timeout", f"no reply to {line.split(' ')[0:2]} in "
                    f"{self._settings.reply_timeout:g} s; session closed")) from err
            if text is None:
                raise CallHangup("Asterisk closed the connection")
            if text == proto.HANGUP_LINE:
                self.hangup_seen = True
                continue
            reply = self._parse(text, line, secret)
            if reply.code == 520 and text.startswith("520-"):
                await self._skip_usage()
                raise AgiError("agi-usage", f"Asterisk rejected {line.split(' ')[0:2]}")
            return reply

    @staticmethod
    def _parse(text: str, line: str, secret: bool) -> proto.AgiReply:
        try:
            return proto.parse_reply(text)
        except AgiError as err:
            if not secret:
                raise
            # The garbage may hold the keys of a PIN: say only which command it answered.
            raise AgiError(err.code, f"unexpected reply to {line.split(' ')[0:2]}") from None

    def _give_up(self, err: AgiError) -> AgiError:
        """A peer that missed one reply timeout is dead (Asterisk itself never ends a session):
        close at once, free the call slot, and fail every later command without sending it."""
        self._dead = err
        self.closed = True
        self._stop_watchdog()
        self._lines.close()
        return err

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    async def _skip_usage(self) -> None:
        """Read the rest of a ``520-`` usage block, up to its ``520 `` line (res_agi sends
        the three parts at once)."""
        for _ in range(proto.MAX_USAGE_LINES):
            try:
                text = await self._readline(self._settings.hangup_grace)
            except TimeoutError:
                break
            if text is None or text.startswith("520 "):
                return
        raise AgiError("agi-protocol", "a 520 usage reply never ended")

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
        code = proto.key_result(reply)
        if code < 0:
            await self._after_failure(reply, prompt.media)
        return PlayResult(interrupted_by=proto.digit_from_code(code))

    async def collect_dtmf(
        self, prompt: Prompt | None, *, max_digits: int, timeout: float, terminator: str = "#",
        secret: bool = False,
    ) -> DtmfResult:
        if prompt is None:
            return await self._wait_digits(max_digits, timeout, terminator)
        reply = await self.command(proto.get_data(prompt.media, timeout, max_digits), secret=secret)
        digits = proto.data_digits(reply, max_digits)
        if digits is None:
            await self._after_failure(reply, prompt.media)
        return DtmfResult(digits=digits or "", timed_out=reply.timed_out)

    async def _wait_digits(self, max_digits: int, timeout: float, terminator: str) -> DtmfResult:
        digits = ""
        while len(digits) < max_digits:
            reply = await self.command(proto.wait_for_digit(timeout))
            code = proto.key_result(reply)
            if code < 0:
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
                samples, rate = await asyncio.to_thread(read_wav, local)  # shared disk: slow
                clip: AudioClip | None = AudioClip(samples, rate)
            except PromptError as err:
                _LOG.debug("no turn audio: %s", err.message)
                clip = None
            return RecordResult(clip, key)
        finally:  # caller audio never lingers unencrypted, even when the call is cancelled
            await asyncio.shield(asyncio.to_thread(local.unlink, missing_ok=True))

    async def stop_playback(self) -> None:
        raise AgiError("agi-not-streaming", "FastAGI plays prompts to the end")

    def audio_in(self) -> AsyncIterator[AudioChunk]:
        raise AgiError("agi-not-streaming", "FastAGI does not stream audio; use record()")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(proto.set_variable(name, value))

    async def transfer(self, target: QueueTarget) -> None:
        # extensions.conf reads these after the AGI session ends and runs Queue().
        await self.set_variable("IVR_QUEUE", target.name)
        await self.set_variable("IVR_PRIORITY", str(clamp_priority(target.priority)))
        self.transferred = True

    async def set_outcome(self, outcome: str, queue: str | None) -> None:
        if outcome == "queued" and queue and not self.transferred:
            # Queued without a transfer: the caller took a callback; the dialplan hangs up.
            await self.set_variable("IVR_CALLBACK", "yes")
        await self.set_variable("IVR_OUTCOME", outcome)

    async def hangup(self) -> None:
        # Ending the session lets extensions.conf hang up with a normal clearing cause; the
        # AGI HANGUP command would leave cause 0 (Unknown) on both legs.
        self.wants_hangup = True

    async def close(self) -> None:
        """End the session: Asterisk then continues in its dialplan."""
        self.closed = True
        self._stop_watchdog()
        self._lines.close()
        try:
            async with asyncio.timeout(1.0):
                await self._lines.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            pass
