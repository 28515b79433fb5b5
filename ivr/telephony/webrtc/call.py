"""WebRTC transport: one aiortc peer connection as a :class:`~ivr.telephony.call.Call`.

The caller's audio streams in (``audio_in()``, 16 kHz mono) while prompts play out on a
20 ms clock; keys arrive as JSON on the ``hotline`` data channel (aiortc has no
telephone-event), and Hotline tells the caller what it plays, hears and decides on the same
channel (:mod:`ivr.telephony.webrtc.events`). Every wait also ends when the caller goes:
a ``hangup`` message, the data channel or the DTLS transport closing, the caller's track
ending, or no audio packet for ``media_timeout`` seconds — then :class:`CallHangup`.
:mod:`ivr.telephony.webrtc.gateway` creates these calls and runs them.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from ivr.audio.frames import AudioChunk, Samples
from ivr.errors import CallHangup
from ivr.telephony.call import (
    CallCapabilities,
    CallInfo,
    DtmfResult,
    FrameSink,
    PlayResult,
    Prompt,
    QueueTarget,
    RecordResult,
)
from ivr.telephony.webrtc import events
from ivr.telephony.webrtc.media import PromptTrack, RecordingMixer, hold_music
from ivr.telephony.webrtc.sdp import WebRtcError

_LOG = logging.getLogger(__name__)
ALL_KEYS = "0123456789*#ABCD"
MAX_QUEUED_KEYS = 64
AUDIO_QUEUE_CHUNKS = 250
"""Caller audio buffered per listener (about 5 s of 20 ms chunks); older chunks drop first."""


class PromptLoader(Protocol):
    """Loads a prompt's rendered audio as 8 kHz mono samples."""

    async def samples(self, prompt: Prompt) -> Samples: ...


class WebRtcCall:
    """One browser or ``ivr call`` caller."""

    caps = CallCapabilities(dtmf=True, transfer=True, streaming_audio=True, record=False,
                            recording="frames")

    def __init__(self, info: CallInfo, loader: PromptLoader, *, send: Callable[[str], None],
                 hold_seconds: float = 0.0) -> None:
        self.info = info
        self._loader = loader
        self._send = send
        self._hold_seconds = hold_seconds
        self._tick = asyncio.Event()
        self._keys: collections.deque[str] = collections.deque(maxlen=MAX_QUEUED_KEYS)
        self._listeners: set[asyncio.Queue[AudioChunk | None]] = set()
        self.track = PromptTrack(self._poke)
        self.mixer: RecordingMixer | None = None
        self._sink: FrameSink | None = None
        self.gone: str | None = None
        """Why the caller is gone (None while connected)."""
        self.answered = False
        self.transferred: QueueTarget | None = None
        self.outcome: tuple[str, str | None] | None = None
        self.wants_hangup = False
        self.bad_messages = 0
        self._armed: str | None = None
        """Keys that may stop the prompt playing now (others are dropped, as in Asterisk)."""

    # Plumbing (the gateway calls these) --------------------------------------------
    def _poke(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    def tell(self, kind: str, **fields: Any) -> None:
        """Send one event to the caller (dropped once the caller is gone)."""
        if self.gone is None:
            self._send(events.encode(kind, **fields))

    def caller_gone(self, reason: str) -> None:
        """The caller left: every wait ends with :class:`CallHangup`."""
        if self.gone is not None:
            return
        self.gone = reason
        _LOG.info("webrtc caller gone: %s", reason)
        for queue in self._listeners:
            _offer(queue, None)
        self.track.stop_current()
        self._poke()

    def on_message(self, raw: str | bytes) -> None:
        """A data channel message from the caller."""
        try:
            message = events.parse_caller_message(raw)
        except events.BadMessage as err:
            self.bad_messages += 1
            if self.bad_messages <= 20:  # a noisy peer gets a few answers, then silence
                self.tell("error", code=err.code, message=err.message)
            return
        if message.type == "hangup":
            self.caller_gone("caller hung up")
            return
        armed = self._armed
        self._keys.extend(d for d in message.digits if armed is None or d in armed)
        self._poke()

    def on_audio(self, chunk: AudioChunk | None, record: Samples) -> None:
        """Decoded caller audio (from the gateway's receive loop)."""
        if chunk is not None:
            for queue in self._listeners:
                _offer(queue, chunk)
        if self.mixer is not None and len(record):
            self.mixer.caller(record)

    def record_to(self, sink: FrameSink) -> None:
        """Mix both directions into ``sink`` (the gateway's writer task drains it)."""
        self._sink = sink
        self.mixer = RecordingMixer()
        self.track.on_frame = self.mixer.hotline

    async def flush_recording(self) -> None:
        if self._sink is not None and self.mixer is not None:
            data = self.mixer.take()
            if data:
                await self._sink.write(data)

    async def wait_for(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        """Until ``ready()`` (True) or ``timeout`` (False); :class:`CallHangup` if gone."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            tick = self._tick
            if self.gone is not None:
                raise CallHangup(self.gone)
            if ready():
                return True
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    await tick.wait()
            except TimeoutError:
                pass

    # Call protocol -----------------------------------------------------------------
    async def answer(self) -> None:
        if self.gone is not None:
            raise CallHangup(self.gone)
        self.answered = True

    async def play(self, prompt: Prompt, *, barge_in_keys: str = "") -> PlayResult:
        samples = await self._loader.samples(prompt)
        self._drop_keys(barge_in_keys)
        if self._keys:  # typed ahead between questions
            return PlayResult(interrupted_by=self._keys.popleft())
        self.tell("prompt", text=prompt.text, language=prompt.language,
                  seconds=round(len(samples) / 8000, 2))
        if barge_in_keys or self._listeners:
            self.tell("listening", keys=barge_in_keys, speech=bool(self._listeners),
                      waiting=False)
        playback = self.track.play(samples)
        self._armed = barge_in_keys
        try:
            await self.wait_for(lambda: playback.done or bool(self._keys), None)
        finally:
            self._armed = None
            if not playback.done:
                self.track.stop_current()
        key = self._keys.popleft() if self._keys else None
        self.tell("prompt_done", interrupted=playback.interrupted)
        return PlayResult(interrupted_by=key)

    def _drop_keys(self, armed: str) -> None:
        kept = [k for k in self._keys if k in armed]
        self._keys.clear()
        self._keys.extend(kept)

    async def collect_dtmf(self, prompt: Prompt | None, *, max_digits: int, timeout: float,
                           terminator: str = "#", secret: bool = False) -> DtmfResult:
        digits = ""
        if prompt is not None:
            first = (await self.play(prompt, barge_in_keys=ALL_KEYS)).interrupted_by
            if first is not None:
                if first == terminator:
                    return DtmfResult("", timed_out=False)
                digits = first
        self.tell("listening", keys=ALL_KEYS, speech=bool(self._listeners), waiting=True)
        while len(digits) < max_digits:
            if not await self.wait_for(lambda: bool(self._keys), timeout):
                return DtmfResult(digits, timed_out=True)
            key = self._keys.popleft()
            if key == terminator:
                return DtmfResult(digits, timed_out=False)
            digits += key
        return DtmfResult(digits, timed_out=False)

    async def record(self, *, max_seconds: float, silence_seconds: float,
                     escape_keys: str = "") -> RecordResult:
        raise WebRtcError("webrtc-not-turn-based", "WebRTC streams audio; use audio_in()")

    def audio_in(self) -> AsyncIterator[AudioChunk]:
        queue: asyncio.Queue[AudioChunk | None] = asyncio.Queue(AUDIO_QUEUE_CHUNKS)
        self._listeners.add(queue)
        return self._listen(queue)

    async def _listen(self, queue: asyncio.Queue[AudioChunk | None]) -> AsyncIterator[AudioChunk]:
        try:
            while True:
                if self.gone is not None:
                    raise CallHangup(self.gone)
                chunk = await queue.get()
                if chunk is None:
                    raise CallHangup(self.gone or "caller hung up")
                yield chunk
        finally:
            self._listeners.discard(queue)

    async def stop_playback(self) -> None:
        self.track.stop_current()

    async def transfer(self, target: QueueTarget) -> None:
        """No agents in the embedded default: tell the caller, play hold music if set."""
        self.transferred = target
        self.tell("transfer", queue=target.name)
        if self._hold_seconds > 0:
            self.tell("hold", seconds=self._hold_seconds)
            playback = self.track.play(hold_music(self._hold_seconds))
            self._armed = ""  # nothing to key in while on hold
            try:
                await self.wait_for(lambda: playback.done, None)
            finally:
                self._armed = None
                self.track.stop_current()

    async def set_outcome(self, outcome: str, queue: str | None) -> None:
        self.outcome = (outcome, queue)
        self.tell("outcome", outcome=outcome, queue=queue)

    async def hangup(self) -> None:
        self.wants_hangup = True


def _offer(queue: asyncio.Queue[AudioChunk | None], item: AudioChunk | None) -> None:
    """Put without blocking: a listener that falls behind loses its oldest audio."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)


Runner = Callable[[WebRtcCall], Awaitable[None]]
