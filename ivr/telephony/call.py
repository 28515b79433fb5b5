"""The Call protocol: what the flow engine can do with a caller, whatever the transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ivr.audio.frames import AudioChunk, AudioClip


@dataclass(frozen=True, slots=True)
class CallInfo:
    """Who is calling, what they dialled, and how they reached us."""

    call_id: str
    """Hotline's own id for the call (stable across transports)."""
    transport: str
    """``agi``, ``ari`` or ``webrtc``."""
    route: str
    """What the caller asked for: the AGI script name selects the dialplan id."""
    caller: str | None
    """Caller id number as presented (None when withheld or unknown)."""
    caller_name: str | None = None
    dialed: str | None = None
    language: str | None = None
    """Language hint from the channel (BCP 47), if any."""
    channel: str | None = None
    """Transport's own channel name (e.g. ``PJSIP/trunk-00000001``)."""
    extra: dict[str, str] = field(default_factory=dict)


RecordingMode = Literal["none", "mixmonitor", "frames"]
"""How a transport's calls are recorded (see :attr:`CallCapabilities.recording`)."""


@dataclass(frozen=True, slots=True)
class CallCapabilities:
    """What a transport can do; the engine checks these, never ``hasattr``."""

    dtmf: bool = True
    transfer: bool = True
    streaming_audio: bool = False
    """``audio_in()`` streams the caller's audio and ``stop_playback()`` cuts a prompt short
    (speech barge-in)."""
    record: bool = False
    """``record()`` records one caller turn (turn-based transports such as FastAGI)."""
    recording: RecordingMode = "none"
    """How the whole call is recorded: ``mixmonitor`` (Asterisk records the channel; the
    call is a :class:`MixMonitorCall`), ``frames`` (the call mixes both directions into a
    sink; it is a :class:`FrameRecordedCall`) or ``none`` (not recorded)."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """Something to say: its text (for transcripts) and a transport-ready reference."""

    text: str
    language: str
    media: str
    """What the transport plays: for AGI, a sound file name without extension."""
    prompt_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlayResult:
    """How a prompt ended."""

    interrupted_by: str | None = None
    """The key that cut the prompt short, if any."""


@dataclass(frozen=True, slots=True)
class DtmfResult:
    """Keys collected for one question."""

    digits: str
    timed_out: bool
    """True when the caller stopped keying before a terminator or the maximum."""


@dataclass(frozen=True, slots=True)
class RecordResult:
    """One recorded caller turn."""

    clip: AudioClip | None
    """None when nothing was recorded (the transport wrote no audio)."""
    key: str | None = None
    """The key that ended the recording, if the caller pressed one."""


MAX_PRIORITY = 10
"""The highest queue priority (the lowest is 0), as asterisk-conf/ expects."""


def clamp_priority(priority: int) -> int:
    """``priority`` within 0..:data:`MAX_PRIORITY`."""
    return max(0, min(MAX_PRIORITY, priority))


async def wait_ended(ended: Iterable[asyncio.Event], timeout: float) -> None:
    """Wait up to ``timeout`` seconds for every call's ``ended`` event (a drain); the caller
    then ends whatever is still running."""
    waits = [asyncio.ensure_future(event.wait()) for event in ended]
    if not waits:
        return
    _done, pending = await asyncio.wait(waits, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*waits, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class QueueTarget:
    """An agent queue and the caller's priority in it (higher is served sooner)."""

    name: str
    priority: int = 0


@dataclass(frozen=True, slots=True)
class QueueWait:
    """What Asterisk's queue says right now (AMI ``QueueSummary``)."""

    queue: str
    position: int
    """Where a caller joining now would wait (1: next in line)."""
    hold_seconds: int
    """The queue's average hold time; 0 while it has no history."""
    available: int = 0
    """Members free to take a call now."""


class QueueInfo(Protocol):
    """Queue position, estimated wait and callbacks (AMI); any transport."""

    async def wait(self, queue: str) -> QueueWait | None:
        """The queue now, or None when nobody can tell (AMI down, slow, unknown queue)."""
        ...

    async def request_callback(self, info: CallInfo, queue: str, language: str) -> str:
        """Store a callback request for this caller; its id."""
        ...


class Call(Protocol):
    """One live call, as the flow engine sees it."""

    info: CallInfo
    caps: CallCapabilities

    async def answer(self) -> None: ...

    async def play(self, prompt: Prompt, *, barge_in_keys: str = "") -> PlayResult:
        """Play a prompt; any key in ``barge_in_keys`` stops it and is reported."""
        ...

    async def collect_dtmf(
        self,
        prompt: Prompt | None,
        *,
        max_digits: int,
        timeout: float,
        terminator: str = "#",
        secret: bool = False,
    ) -> DtmfResult:
        """Play ``prompt`` (any key interrupts it) and collect up to ``max_digits`` keys.

        Keys must be armed while the prompt plays: a transport may discard keys pressed
        between commands (Asterisk does). ``secret`` digits must never be logged.
        """
        ...

    async def record(self, *, max_seconds: float, silence_seconds: float,
                     escape_keys: str = "") -> RecordResult:
        """Record the caller until ``silence_seconds`` of silence (whole seconds on FastAGI),
        ``max_seconds``, or a key in ``escape_keys``. Needs ``caps.record``."""
        ...

    def audio_in(self) -> AsyncIterator[AudioChunk]:
        """The caller's audio as it arrives, while prompts play too. Needs
        ``caps.streaming_audio``."""
        ...

    async def stop_playback(self) -> None:
        """Cut the prompt playing now short (speech barge-in). Needs ``caps.streaming_audio``."""
        ...

    async def transfer(self, target: QueueTarget) -> None:
        """Hand the caller to an agent queue; the call leaves Hotline afterwards."""
        ...

    async def hangup(self) -> None:
        """End the call after Hotline's last word (AGI: Asterisk's dialplan hangs up)."""
        ...

    async def set_outcome(self, outcome: str, queue: str | None) -> None:
        """Tell the transport how the call ended (AGI: channel variables for the dialplan)."""
        ...


class MixMonitorCall(Call, Protocol):
    """A call whose ``caps.recording`` is ``mixmonitor``: it runs dialplan applications."""

    async def exec_app(self, app: str, args: str = "") -> int | None: ...


class FrameSink(Protocol):
    """Where a call's mixed audio goes (the recording service's frame recorder)."""

    async def write(self, frame: bytes) -> None: ...


class FrameRecordedCall(Call, Protocol):
    """A call whose ``caps.recording`` is ``frames``."""

    def record_to(self, sink: FrameSink) -> None:
        """Mix both directions of the call into ``sink`` from now on."""
        ...


CallHandler = Callable[[Call], Awaitable[None]]


class CallSource(Protocol):
    """A transport that produces calls (AGI server, ARI app, WebRTC gateway)."""

    async def serve(self, handler: CallHandler) -> None: ...
