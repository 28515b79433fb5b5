"""A scripted in-memory Call for flow tests: no sockets, no Asterisk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from ivr.audio.frames import AudioChunk
from ivr.errors import CallHangup
from ivr.telephony.call import (
    CallCapabilities,
    CallInfo,
    DtmfResult,
    PlayResult,
    Prompt,
    QueueTarget,
    RecordResult,
)

HANGUP = "hangup"


@dataclass
class FakeCall:
    """A caller who answers each input-taking step from ``script`` in order.

    Script items: a string of keys (``"1"``, ``"1234#"``), ``None`` for silence, or
    ``"hangup"``. Prompts without armed keys let the caller listen (nothing is consumed).
    """

    script: list[str | None] = field(default_factory=list)
    info: CallInfo = field(default_factory=lambda: CallInfo(
        call_id="fake0001", transport="fake", route="hotline", caller="+15551234567"))
    caps: CallCapabilities = field(default_factory=CallCapabilities)
    played: list[Prompt] = field(default_factory=list)
    transferred: QueueTarget | None = None
    outcome: str | None = None
    hung_up: bool = False
    answered: bool = False

    def _next(self) -> str | None:
        item = self.script.pop(0) if self.script else None
        if item == HANGUP:
            self.hung_up = True
            raise CallHangup()
        return item

    def _check(self) -> None:
        if self.hung_up:
            raise CallHangup("channel is dead")

    async def answer(self) -> None:
        self._check()
        self.answered = True

    async def play(self, prompt: Prompt, *, barge_in_keys: str = "") -> PlayResult:
        self._check()
        self.played.append(prompt)
        if self.script and self.script[0] == HANGUP:
            self._next()
        if barge_in_keys and self.script and self.script[0] and self.script[0][0] in barge_in_keys:
            keys = self._next() or ""
            if len(keys) > 1:
                self.script.insert(0, keys[1:])
            return PlayResult(interrupted_by=keys[0])
        return PlayResult()

    async def collect_dtmf(self, prompt: Prompt | None, *, max_digits: int, timeout: float,
                           terminator: str = "#", secret: bool = False) -> DtmfResult:
        self._check()
        if prompt is not None:
            self.played.append(prompt)
        keys = self._next()
        if keys is None:
            return DtmfResult("", timed_out=True)
        digits = keys.split(terminator, 1)[0][:max_digits]
        ended = terminator in keys or len(digits) == max_digits
        return DtmfResult(digits, timed_out=not ended)

    async def record(self, *, max_seconds: float, silence_seconds: float,
                     escape_keys: str = "") -> RecordResult:
        """A keypad-only caller: keys from the script end the turn; nothing is said."""
        self._check()
        keys = self._next()
        if keys and keys[0] in escape_keys:
            if len(keys) > 1:
                self.script.insert(0, keys[1:])
            return RecordResult(None, key=keys[0])
        return RecordResult(None)

    def audio_in(self) -> AsyncIterator[AudioChunk]:
        raise NotImplementedError("FakeCall does not stream audio (see FakeStreamingCall)")

    async def stop_playback(self) -> None:
        """Prompts end at once in a FakeCall."""

    async def transfer(self, target: QueueTarget) -> None:
        self._check()
        self.transferred = target

    async def hangup(self) -> None:
        self.hung_up = True

    async def set_outcome(self, outcome: str, queue: str | None) -> None:
        self.outcome = outcome

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.played]
