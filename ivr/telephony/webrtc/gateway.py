"""The WebRTC CallSource: SDP offers in, :class:`WebRtcCall` sessions run to the end.

``offer()`` (called by the web server's ``POST /api/webrtc/offer``) checks the SDP, answers
it with aiortc and starts the session in the gateway's task group (``serve()``); a session
waits for DTLS to connect, runs the flow (or, over capacity, the busy message), says bye
and closes the peer connection. Every session ends: caller gone, ``max_call_seconds``,
or drain. A failing session is logged and never touches another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ivr.audio.frames import Samples
from ivr.audio.wav import resample
from ivr.errors import CallHangup, IvrError, PromptError
from ivr.events import EventKind
from ivr.logs import CALL_ID
from ivr.telephony.call import CallHandler, CallInfo, Prompt, wait_ended
from ivr.telephony.prompt_files import read_wav
from ivr.telephony.webrtc.call import WebRtcCall
from ivr.telephony.webrtc.events import caller_event
from ivr.telephony.webrtc.ice import restrict_ice
from ivr.telephony.webrtc.media import OUT_RATE, CallerAudio
from ivr.telephony.webrtc.sdp import WebRtcError, check_offer
from ivr.telephony.webrtc.settings import WebRtcSettings
from ivr.telephony.webrtc.tasks import CallTasks

_LOG = logging.getLogger(__name__)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
BusyPrompt = Callable[[str], Awaitable[Prompt]]


class PromptSounds:
    """Rendered prompt files as 8 kHz samples, the most recent ones kept in memory."""

    def __init__(self, sounds_dir: Path, keep: int = 128) -> None:
        self._dir = sounds_dir
        self._keep = keep
        self._cache: dict[str, Samples] = {}

    async def samples(self, prompt: Prompt) -> Samples:
        key = prompt.prompt_id or prompt.media
        if (hit := self._cache.pop(key, None)) is not None:
            self._cache[key] = hit  # most recent last
            return hit
        path = self._dir / f"{prompt.prompt_id}.wav" if prompt.prompt_id else Path(
            prompt.media + ".wav")
        try:
            samples, rate = await asyncio.to_thread(read_wav, path)
        except (OSError, PromptError) as err:
            raise WebRtcError("webrtc-prompt-missing", f"cannot read prompt {path}: {err}") from err
        if rate != OUT_RATE:
            samples = resample(samples, rate, OUT_RATE)
        self._cache[key] = samples
        while len(self._cache) > self._keep:
            self._cache.pop(next(iter(self._cache)))
        return samples


class _ChannelLink:
    """Sends to the caller's data channel once it is open; buffers a little before."""

    def __init__(self) -> None:
        self.channel: Any = None
        self._pending: list[str] = []

    def attach(self, channel: Any) -> None:
        self.channel = channel
        if channel.readyState == "open":
            self._flush()
        else:
            channel.on("open", self._flush)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for text in pending:
            self.send(text)

    def send(self, text: str) -> None:
        channel = self.channel
        if channel is None or channel.readyState == "connecting":
            if len(self._pending) < 200:
                self._pending.append(text)
            return
        if channel.readyState == "open":
            with contextlib.suppress(Exception):  # closing under us: nothing to tell anyone
                channel.send(text)


@dataclass
class Session:
    """One peer connection and its call."""

    call: WebRtcCall
    pc: RTCPeerConnection
    link: _ChannelLink
    busy: bool
    remote: MediaStreamTrack | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class Answer:
    """The SDP answer for the caller."""

    call_id: str
    sdp: str
    busy: bool


class WebRtcGateway:
    """Accepts WebRTC offers and runs each call with the handler given to ``serve()``."""

    def __init__(self, settings: WebRtcSettings, loader: PromptSounds, *,
                 busy_prompt: BusyPrompt | None = None) -> None:
        restrict_ice(settings.addresses, settings.peer_networks)
        self.settings = settings
        self._loader = loader
        self._busy_prompt = busy_prompt
        self._handler: CallHandler | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._stop = asyncio.Event()
        self.sessions: dict[str, Session] = {}
        self.calls_total = 0

    @property
    def active(self) -> int:
        return sum(1 for s in self.sessions.values() if not s.busy)

    @property
    def ready(self) -> bool:
        return self._tg is not None and not self._stop.is_set()

    async def serve(self, handler: CallHandler) -> None:
        """Run sessions until :meth:`drain`; sessions live in this task group."""
        self._handler = handler
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            try:
                await self._stop.wait()
            finally:
                self._tg = None
                for session in list(self.sessions.values()):
                    session.call.caller_gone("server stopping")

    def feed(self, call_id: str, log: Any) -> Any:
        """``log`` for a call, mirrored to its caller when it is one of ours."""
        session = self.sessions.get(call_id)
        return CallerFeed(log, session.call) if session is not None else log

    async def drain(self, timeout: float) -> int:
        """Refuse new offers; wait up to ``timeout`` for calls in progress, then end them."""
        sessions = list(self.sessions.values())
        await wait_ended((s.ended for s in sessions), timeout)
        left = sum(1 for s in sessions if not s.ended.is_set())
        self._stop.set()
        return left

    async def offer(self, sdp: object, *, language: object = None, client: str = "") -> Answer:
        """Answer one caller's offer and start their call; raises :class:`WebRtcError`
        (``webrtc-not-ready``, ``webrtc-busy``, ``webrtc-bad-sdp``, ``webrtc-no-dtls``…)."""
        tg = self._tg
        if tg is None or self._stop.is_set():
            raise WebRtcError("webrtc-not-ready", "the hotline is not taking calls right now")
        busy = self.active >= self.settings.max_calls
        if busy and len(self.sessions) - self.active >= self.settings.busy_calls:
            raise WebRtcError("webrtc-busy", "all lines are busy; please call again later")
        checked = check_offer(sdp)
        lang = language if isinstance(language, str) and _LANGUAGE.match(language) else None
        call_id = uuid.uuid4().hex
        info = CallInfo(call_id=call_id, transport="webrtc", route=self.settings.route,
                        caller=None, language=lang, channel=f"WebRTC/{call_id[:8]}",
                        extra={"client": client[:64]})
        link = _ChannelLink()
        call = WebRtcCall(info, self._loader, send=link.send,
                          hold_seconds=self.settings.hold_music_seconds)
        config = RTCConfiguration(iceServers=[RTCIceServer(u) for u in self.settings.stun])
        session = Session(call, RTCPeerConnection(config), link, busy)
        self.sessions[call_id] = session  # reserve the line before any await
        try:
            answer = await self._negotiate(session, checked.sdp)
        except BaseException:
            self.sessions.pop(call_id, None)
            await _close_pc(session.pc)
            raise
        self.calls_total += 1
        tg.create_task(self._run(session), name=f"webrtc-{call_id[:8]}")
        return Answer(call_id, answer, busy)

    async def _negotiate(self, session: Session, sdp: str) -> str:
        pc, call = session.pc, session.call
        pc.addTrack(call.track)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and session.remote is None:
                session.remote = track

        @pc.on("datachannel")
        def on_channel(channel: Any) -> None:
            if session.link.channel is not None:
                return  # one channel per call
            session.link.attach(channel)
            channel.on("message", call.on_message)
            channel.on("close", lambda: call.caller_gone("data channel closed"))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                call.caller_gone(f"connection {pc.connectionState}")
            call._poke()

        try:
            async with asyncio.timeout(10.0):
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                answer = await pc.createAnswer()
                await pc.setLocalDescription(answer)
        except TimeoutError as err:
            raise WebRtcError("webrtc-negotiation-timeout", "answering the offer took too long"
                              ) from err
        except Exception as err:  # aiortc raises ValueError, KeyError… for odd SDP
            raise WebRtcError("webrtc-bad-sdp", f"cannot use this offer: {err!r}"[:300]) from err
        return str(pc.localDescription.sdp)

    async def _run(self, session: Session) -> None:
        call, settings = session.call, self.settings
        CALL_ID.set(call.info.call_id)
        try:
            async with asyncio.timeout(settings.max_call_seconds + 30):
                if not await self._connected(session):
                    return
                call.tell("hello", call_id=call.info.call_id, dtls=True, busy=session.busy)
                async with CallTasks(f"webrtc-{call.info.call_id[:8]}") as helpers:
                    helpers.start(self._receive(session), "receive")
                    helpers.start(self._recording_writer(call), "recording")
                    helpers.start(self._time_limit(call), "time-limit")
                    if session.busy:
                        await self._say_busy(call)
                    else:
                        assert self._handler is not None
                        await self._handler(call)
        except TimeoutError:
            _LOG.error("webrtc-session-stuck: ended after %.0f s", settings.max_call_seconds + 30)
        except Exception:  # the last net: one call's failure never reaches another
            _LOG.exception("webrtc-session-crashed")
        finally:
            await self._end(session)

    async def _connected(self, session: Session) -> bool:
        pc = session.pc
        try:
            ok = await session.call.wait_for(lambda: pc.connectionState == "connected",
                                             self.settings.connect_timeout)
        except CallHangup as err:
            _LOG.info("webrtc-connect-failed: %s", err.message)
            return False
        if not ok:
            _LOG.info("webrtc-connect-timeout: no DTLS connection within %.0f s",
                      self.settings.connect_timeout)
        return ok

    async def _receive(self, session: Session) -> None:
        """Caller audio to the call; silence of the network for ``media_timeout`` = gone."""
        call = session.call
        track = session.remote
        if track is None:  # a receive-only caller: keys only
            return
        audio = CallerAudio()
        while True:
            try:
                async with asyncio.timeout(self.settings.media_timeout):
                    frame = await track.recv()
            except TimeoutError:
                call.caller_gone(f"no audio from the caller for {self.settings.media_timeout} s")
                return
            except MediaStreamError:
                call.caller_gone("the caller's audio ended")
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            chunk, record = audio.convert(frame)
            call.on_audio(chunk, record)

    async def _recording_writer(self, call: WebRtcCall) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await call.flush_recording()
            except IvrError as err:  # FrameRecording alerts itself; never fail the call
                _LOG.warning("%s: %s", err.code, err.message)

    async def _time_limit(self, call: WebRtcCall) -> None:
        await asyncio.sleep(self.settings.max_call_seconds)
        reason = f"call longer than {self.settings.max_call_seconds:.0f} s"
        call.tell("bye", reason=reason)
        call.caller_gone(reason)

    async def _say_busy(self, call: WebRtcCall) -> None:
        _LOG.warning("webrtc-over-capacity: %d calls in progress", self.active)
        try:
            if self._busy_prompt is not None:
                prompt = await self._busy_prompt(call.info.language or "en-US")
                await call.play(prompt)
            await call.set_outcome("failed", None)
        except CallHangup:
            pass

    async def _end(self, session: Session) -> None:
        call = session.call
        try:
            call.tell("bye", reason=call.gone or "hotline hung up")
            await call.flush_recording()
            if call.gone is None:  # let the last audio frames and the bye leave
                with contextlib.suppress(CallHangup):
                    await call.wait_for(lambda: False, 0.15)
            call.caller_gone("hotline hung up")
        except Exception:
            _LOG.exception("webrtc-end-failed")
        finally:
            await _close_pc(session.pc)
            self.sessions.pop(call.info.call_id, None)
            session.ended.set()


async def _close_pc(pc: RTCPeerConnection) -> None:
    try:
        async with asyncio.timeout(5.0):
            await pc.close()
    except Exception:
        _LOG.exception("webrtc-close-failed")


class CallerFeed:
    """A call's event log that also tells the WebRTC caller what Hotline understood
    (:func:`~ivr.telephony.webrtc.events.caller_event` picks what may go out)."""

    def __init__(self, log: Any, call: WebRtcCall) -> None:
        self._log = log
        self._call = call

    def start(self, **values: Any) -> None:
        self._log.start(**values)

    def update(self, **values: Any) -> None:
        self._log.update(**values)

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None:
        self._log.event(kind, node, **data)
        shown = caller_event(kind, data)
        if shown is not None:
            self._call.tell(shown[0], **shown[1])
