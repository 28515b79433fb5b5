"""Speech recognition: one stream shape for every engine, plus whole-clip recognition.

A :class:`RecognizerStream` takes audio with :meth:`~RecognizerStream.push`, is told
:meth:`~RecognizerStream.flush` when the caller pauses (engines that decode whole
utterances start decoding then, while the endpointer still waits for the end of the
turn), :meth:`~RecognizerStream.end_input` when the turn is over, yields partial and final
:class:`Transcript` objects from :meth:`~RecognizerStream.results`, and is closed with
:meth:`~RecognizerStream.aclose`. Decoding never runs on the event loop: engines submit
work to a shared :class:`DecodePool` whose size caps how many decodes run at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ivr.audio.frames import AudioClip, Samples
from ivr.errors import IvrError

T = TypeVar("T")


class SpeechError(IvrError):
    """Speech trouble with a stable code: ``asr-model-missing``, ``asr-model-corrupt``,
    ``asr-bad-audio``, ``asr-timeout``, ``asr-engine-unknown``, ``asr-busy``."""

    area = "asr"


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word and where it was said (seconds from the start of the audio)."""

    text: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What an engine heard."""

    text: str
    confidence: float
    """0..1; engines differ in calibration, so thresholds are per engine."""
    is_final: bool = True
    words: tuple[Word, ...] = ()
    engine: str = ""
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0
    """Wall time spent decoding for this result."""
    finished_at: float = 0.0
    """``time.perf_counter()`` when the result was ready (for end-of-speech latency)."""

    @property
    def empty(self) -> bool:
        return not self.text.strip()


class RecognizerStream(Protocol):
    """One utterance (or one turn) being recognised."""

    def push(self, samples: Samples) -> None:
        """Add audio at the stream's sample rate."""
        ...

    def flush(self) -> None:
        """The caller paused: decode what there is now (a hint; engines may ignore it)."""
        ...

    def end_input(self) -> None:
        """No more audio: produce the final result."""
        ...

    def early(self) -> Transcript | None:
        """The result of the decode :meth:`flush` started, once it is done and no audio
        came since (None otherwise, or from engines that do not decode early)."""
        ...

    def results(self) -> AsyncIterator[Transcript]:
        """Partial results, then exactly one final result, then the end."""
        ...

    async def aclose(self) -> None:
        """Drop the stream and anything it still decodes."""
        ...


class Recognizer(Protocol):
    """An engine with its model loaded; cheap to open streams on."""

    name: str

    def stream(self, *, rate: int, phrases: Sequence[str] = ()) -> RecognizerStream:
        """A stream for one turn; ``phrases`` restricts (vosk) or biases (whisper) it."""
        ...

    async def recognize(self, clip: AudioClip, *, phrases: Sequence[str] = ()) -> Transcript:
        """Recognise a whole utterance."""
        ...


class DecodePool:
    """Threads for decoding, shared by every call: at most ``workers`` decodes at once.

    The engines (CTranslate2, Kaldi) release the GIL while they compute, so threads scale to
    the cores. A job waits in line at most ``queue_timeout`` seconds and runs at most
    ``timeout`` seconds (the caller gets ``asr-timeout`` and a reprompt, never silence).
    """

    def __init__(self, workers: int, *, timeout: float = 10.0, queue_timeout: float = 5.0) -> None:
        self.workers = max(1, workers)
        self._executor = concurrent.futures.ThreadPoolExecutor(self.workers,
                                                               thread_name_prefix="asr")
        self._slots: asyncio.Semaphore | None = None
        self.timeout = timeout
        self.queue_timeout = queue_timeout

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        return self._slots

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a decode thread and wait for it.

        The slot is given back when the thread finishes, not when the waiter gives up, so a
        timed-out decode still counts against the cap while it burns CPU.
        """
        slots = self._semaphore()
        try:
            async with asyncio.timeout(self.queue_timeout):
                await slots.acquire()
        except TimeoutError as err:
            raise SpeechError("asr-busy", "every decoder is busy; try the keypad") from err
        loop = asyncio.get_running_loop()
        try:
            job = self._executor.submit(contextvars.copy_context().run, fn)
        except BaseException:
            slots.release()
            raise
        def give_back(_: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be gone at shutdown
                loop.call_soon_threadsafe(slots.release)

        job.add_done_callback(give_back)
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.wrap_future(job)
        except TimeoutError as err:
            raise SpeechError("asr-timeout", f"decoding took over {self.timeout:.0f} s") from err

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass
class ResultQueue:
    """The results side of a stream: producers put, ``results()`` consumers iterate."""

    queue: asyncio.Queue[Transcript | BaseException | None] = field(
        default_factory=asyncio.Queue)

    def put(self, item: Transcript | BaseException | None) -> None:
        self.queue.put_nowait(item)

    async def iterate(self) -> AsyncIterator[Transcript]:
        """Partial results, then the final one (or the error that replaced it)."""
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.is_final:
                return


def check_audio(samples: Samples, rate: int, *, max_seconds: float) -> Samples:
    """Refuse audio no engine should see; cut rambles to ``max_seconds``."""
    if rate not in (8000, 16000, 32000, 44100, 48000, 22050, 11025):
        raise SpeechError("asr-bad-audio", f"unsupported sample rate {rate} Hz")
    if samples.ndim != 1:
        raise SpeechError("asr-bad-audio", "audio must be mono")
    limit = int(max_seconds * rate)
    return samples[:limit] if len(samples) > limit else samples


def now() -> float:
    """The clock results are stamped with."""
    return time.perf_counter()
