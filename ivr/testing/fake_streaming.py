"""A scripted streaming Call (like a WebRTC or ARI caller) that speaks from WAV audio.

Each voice question takes the next script item when it opens ``audio_in()``: ``Speak``
(silence for ``after`` seconds, then the utterance, then silence), ``Press`` (a key at
``after`` seconds), ``None`` (silence) or ``"hangup"``. Time runs ``speed`` times faster
than real time (``speed=1`` for latency measurements). Questions that do not stream audio
use :class:`~ivr.testing.fake_call.FakeCall`'s script semantics (strings of keys).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from ivr.audio.frames import AudioChunk, Samples
from ivr.errors import CallHangup
from ivr.telephony.call import CallCapabilities, DtmfResult, PlayResult, Prompt, RecordResult
from ivr.testing.fake_call import HANGUP, FakeCall

CHUNK_SECONDS = 0.02


@dataclass(frozen=True)
class Speak:
    """The caller says ``samples`` (8 kHz unless ``rate``) after ``after`` seconds."""

    samples: Samples
    after: float = 0.3
    rate: int = 8000


@dataclass(frozen=True)
class Press:
    """The caller presses ``keys`` ``after`` seconds into the question."""

    keys: str
    after: float = 0.3


@dataclass
class _Turn:
    item: Speak | Press | None
    clock: float = 0.0
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    tick: asyncio.Event = field(default_factory=asyncio.Event)
    keys_taken: bool = False


@dataclass
class FakeStreamingCall(FakeCall):
    """Streams audio at ``rate``; prompts last ``prompt_seconds`` of stream time."""

    caps: CallCapabilities = field(default_factory=lambda: CallCapabilities(
        streaming_audio=True, record=False))
    speed: float = 20.0
    rate: int = 8000
    prompt_seconds: float = 1.5
    stopped_prompts: list[str] = field(default_factory=list)
    voice_script: list[Speak | Press | str | None] = field(default_factory=list)
    _turn: _Turn | None = None

    def audio_in(self) -> AsyncIterator[AudioChunk]:
        self._check()
        item = self.voice_script.pop(0) if self.voice_script else None
        if item == HANGUP:
            self.hung_up = True
            raise CallHangup()
        assert not isinstance(item, str)
        self._turn = _Turn(item)
        return self._stream(self._turn)

    async def _stream(self, turn: _Turn) -> AsyncIterator[AudioChunk]:
        step = int(self.rate * CHUNK_SECONDS)
        speech = turn.item.samples if isinstance(turn.item, Speak) else np.zeros(0, np.int16)
        start = int(turn.item.after * self.rate) if isinstance(turn.item, Speak) else 0
        position = 0
        try:
            while True:
                self._check()
                chunk = np.zeros(step, np.int16)
                lo, hi = position - start, position - start + step
                if hi > 0 and lo < len(speech):
                    part = speech[max(lo, 0):min(hi, len(speech))]
                    offset = max(0, -lo)
                    chunk[offset:offset + len(part)] = part
                yield AudioChunk(chunk, self.rate, at=turn.clock)
                position += step
                turn.clock += CHUNK_SECONDS
                turn.tick.set()
                turn.tick = asyncio.Event()
                await asyncio.sleep(CHUNK_SECONDS / self.speed)
        finally:
            if self._turn is turn:
                self._turn = None

    async def _until(self, turn: _Turn, at: float, *, stoppable: bool) -> bool:
        """Wait for stream time ``at``; False if the prompt was stopped first."""
        while turn.clock < at:
            if stoppable and turn.stopped.is_set():
                return False
            tick = turn.tick
            waiter = asyncio.create_task(tick.wait())
            stop = asyncio.create_task(turn.stopped.wait())
            try:
                await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                stop.cancel()
            if not stoppable:
                turn.stopped.clear()
        return True

    def _key_due(self, turn: _Turn) -> Press | None:
        item = turn.item
        return item if isinstance(item, Press) and not turn.keys_taken else None

    async def play(self, prompt: Prompt, *, barge_in_keys: str = "") -> PlayResult:
        turn = self._turn
        if turn is None:
            return await super().play(prompt, barge_in_keys=barge_in_keys)
        self._check()
        self.played.append(prompt)
        turn.stopped.clear()
        end = turn.clock + self.prompt_seconds
        press = self._key_due(turn)
        armed = press is not None and bool(barge_in_keys) and press.keys[0] in barge_in_keys
        if press is not None and armed and press.after < end and await self._until(
                turn, press.after, stoppable=True):
            turn.keys_taken = True
            return PlayResult(interrupted_by=press.keys[0])
        if not await self._until(turn, end, stoppable=True):
            self.stopped_prompts.append(prompt.text)
        return PlayResult()

    async def stop_playback(self) -> None:
        if self._turn is not None:
            self._turn.stopped.set()

    async def collect_dtmf(self, prompt: Prompt | None, *, max_digits: int, timeout: float,
                           terminator: str = "#", secret: bool = False) -> DtmfResult:
        turn = self._turn
        if turn is None or prompt is not None:
            return await super().collect_dtmf(prompt, max_digits=max_digits, timeout=timeout,
                                              terminator=terminator, secret=secret)
        press = self._key_due(turn)
        if press is None or press.after > turn.clock + timeout:
            await self._until(turn, turn.clock + timeout, stoppable=False)
            return DtmfResult("", timed_out=True)
        await self._until(turn, press.after, stoppable=False)
        turn.keys_taken = True
        digits = press.keys.split(terminator, 1)[0][:max_digits]
        return DtmfResult(digits, timed_out=terminator not in press.keys
                          and len(digits) < max_digits)

    async def record(self, *, max_seconds: float, silence_seconds: float,
                     escape_keys: str = "") -> RecordResult:
        raise NotImplementedError("a streaming call does not record turns")

    def end_turn(self) -> None:
        """Back to keypad-script semantics (the engine calls nothing; tests may)."""
        self._turn = None
