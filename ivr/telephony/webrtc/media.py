"""Audio for WebRTC calls: Hotline's voice out (20 ms frames on a clock), the caller's in.

* :class:`PromptTrack` is the outbound aiortc track. aiortc's sender pulls ``recv()`` in a
  loop; each call returns the next 20 ms of 8 kHz audio (the rendered prompt, else silence)
  at its due time on the monotonic clock, so the caller hears prompts at real speed whatever
  the event loop does in between. Lateness of each frame is kept for the pacing benchmark.
  A sender with a clock of its own (the ARI transport's media thread) takes frames with
  :meth:`PromptTrack.next_frame` instead; playback state is guarded by a lock for it.
* :class:`CallerAudio` turns the caller's Opus frames (48 kHz stereo s16 after decoding)
  into 16 kHz mono :class:`AudioChunk` for VAD and ASR, and 8 kHz mono for the recording.
* :class:`RecordingMixer` mixes both directions into one 8 kHz mono stream for the
  encrypted recording, driven by the outbound clock.
"""

from __future__ import annotations

import collections
import fractions
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ivr.audio.frames import AudioChunk, Samples

OUT_RATE = 8000
"""Rendered prompts are 8 kHz; aiortc's Opus encoder resamples to 48 kHz itself."""
LISTEN_RATE = 16000
"""What VAD and ASR get from the caller."""
FRAME_SECONDS = 0.02


@dataclass
class Playback:
    """One prompt being played; ``done`` once its last frame left (or it was stopped)."""

    samples: Samples
    position: int = 0
    done: bool = False
    interrupted: bool = False
    ended_at: float | None = None
    """Clock time the last frame left (None while playing or when stopped)."""


class PacingStats:
    """How late outbound frames left compared with the 20 ms clock (seconds)."""

    def __init__(self, keep: int = 3000) -> None:
        self.intervals: collections.deque[float] = collections.deque(maxlen=keep)
        self._last: float | None = None

    def tick(self, now: float) -> None:
        if self._last is not None:
            self.intervals.append(now - self._last)
        self._last = now


class PromptTrack(MediaStreamTrack):
    """One side's voice: prompts, hold music, or silence, one frame per 20 ms at ``rate``
    (Hotline's prompts at 8 kHz; ``ivr call`` speaks at 16 kHz)."""

    kind = "audio"

    def __init__(self, on_change: Callable[[], None],
                 on_frame: Callable[[Samples], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, rate: int = OUT_RATE) -> None:
        super().__init__()
        self.rate = rate
        self._frame_samples = int(rate * FRAME_SECONDS)
        self._silence = np.zeros(self._frame_samples, np.int16)
        self._on_change = on_change
        self.on_frame = on_frame
        self._clock = clock
        self._start: float | None = None
        self._frames = 0
        self.current: Playback | None = None
        self._lock = threading.Lock()
        self.pacing = PacingStats()
        self.first_audio_at: float | None = None
        """Clock time the first non-silent frame left (for the connect → prompt benchmark)."""

    def play(self, samples: Samples) -> Playback:
        """Start ``samples`` (mono at ``rate``) now, cutting short whatever was playing."""
        playback = Playback(np.asarray(samples, np.int16))
        with self._lock:
            stopped = self._stop_locked()
            self.current = playback
        if stopped:
            self._on_change()
        return playback

    def stop_current(self) -> None:
        with self._lock:
            stopped = self._stop_locked()
        if stopped:
            self._on_change()

    def _stop_locked(self) -> bool:
        playing, self.current = self.current, None
        if playing is not None and not playing.done:
            playing.done = playing.interrupted = True
            return True
        return False

    def _next_samples(self) -> Samples:
        size = self._frame_samples
        with self._lock:
            playing = self.current
            if playing is None:
                return self._silence
            chunk = playing.samples[playing.position:playing.position + size]
            playing.position += size
            ended = playing.position >= len(playing.samples)
            if ended:
                playing.done = True
                playing.ended_at = self._clock()
                self.current = None
        if ended:
            self._on_change()
        if len(chunk) < size:
            chunk = np.concatenate([chunk, self._silence[: size - len(chunk)]])
        return chunk

    def next_frame(self) -> Samples:
        """The next 20 ms for a sender that keeps time itself (any thread): the frame is
        counted for pacing; ``on_frame`` is the sender's to call."""
        samples = self._next_samples()
        self._sent(samples, self._clock())
        self._frames += 1
        return samples

    def _sent(self, samples: Samples, sent_at: float) -> None:
        self.pacing.tick(sent_at)
        if self.first_audio_at is None and samples is not self._silence and np.any(samples):
            self.first_audio_at = sent_at

    async def recv(self) -> av.AudioFrame:
        import asyncio

        if self.readyState != "live":
            raise MediaStreamError
        now = self._clock()
        if self._start is None:
            self._start = now
        else:
            due = self._start + self._frames * FRAME_SECONDS
            if due > now:
                await asyncio.sleep(due - now)
            elif now - due > 0.2:  # a long stall: restart the clock rather than burst
                self._start, self._frames = now, 0
        samples = self._next_samples()
        self._sent(samples, self._clock())
        if self.on_frame is not None:
            self.on_frame(samples)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._frames * self._frame_samples
        frame.time_base = fractions.Fraction(1, self.rate)
        self._frames += 1
        return frame


class CallerAudio:
    """Converts decoded caller frames for listening (16 kHz) and recording (8 kHz)."""

    def __init__(self) -> None:
        self._listen = av.AudioResampler(format="s16", layout="mono", rate=LISTEN_RATE)
        self._record = av.AudioResampler(format="s16", layout="mono", rate=OUT_RATE)
        self.seconds = 0.0
        """Stream time of the caller's audio so far."""

    def convert(self, frame: av.AudioFrame) -> tuple[AudioChunk | None, Samples]:
        """(chunk for VAD/ASR or None while the resampler fills, 8 kHz samples)."""
        listen = _join(self._listen.resample(frame))
        record = _join(self._record.resample(frame))
        chunk = None
        if len(listen):
            chunk = AudioChunk(listen, LISTEN_RATE, at=self.seconds)
            self.seconds += len(listen) / LISTEN_RATE
        return chunk, record


def _join(frames: list[av.AudioFrame]) -> Samples:
    if not frames:
        return np.zeros(0, np.int16)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)


class RecordingMixer:
    """Both directions mixed into 8 kHz mono PCM, 20 ms at a time on the outbound clock."""

    def __init__(self, max_buffer_seconds: float = 0.2, max_pending_seconds: float = 10.0) -> None:
        self._caller: collections.deque[Samples] = collections.deque()
        self._caller_len = 0
        self._max_caller = int(max_buffer_seconds * OUT_RATE)
        self._pending = bytearray()
        self._max_pending = int(max_pending_seconds * OUT_RATE) * 2
        self.dropped_bytes = 0

    def caller(self, samples: Samples) -> None:
        self._caller.append(samples)
        self._caller_len += len(samples)
        while self._caller_len > self._max_caller and self._caller:
            self._caller_len -= len(self._caller.popleft())

    def hotline(self, samples: Samples) -> None:
        """Called for each outbound frame: mix in as much caller audio as has arrived."""
        mixed = samples.astype(np.int32)
        need, at = len(samples), 0
        while need and self._caller:
            head = self._caller[0]
            take = min(need, len(head))
            mixed[at:at + take] += head[:take]
            if take == len(head):
                self._caller.popleft()
            else:
                self._caller[0] = head[take:]
            self._caller_len -= take
            need -= take
            at += take
        pcm = np.clip(mixed, -32768, 32767).astype("<i2").tobytes()
        if len(self._pending) + len(pcm) > self._max_pending:
            self.dropped_bytes += len(pcm)  # the store stalls: never grow without bound
            return
        self._pending += pcm

    def take(self) -> bytes:
        data, self._pending = bytes(self._pending), bytearray()
        return data


def hold_music(seconds: float, rate: int = OUT_RATE) -> Samples:
    """A quiet, gentle arpeggio (generated: no audio file ships) of ``seconds``."""
    notes = [261.63, 329.63, 392.0, 523.25, 392.0, 329.63]
    note_len = int(0.4 * rate)
    t = np.arange(note_len) / rate
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-3.0 * t)
    pattern = np.concatenate([np.sin(2 * np.pi * f * t) * envelope for f in notes])
    total = int(seconds * rate)
    reps = total // len(pattern) + 1
    return (np.tile(pattern, reps)[:total] * 32768 * 0.1).astype(np.int16)
