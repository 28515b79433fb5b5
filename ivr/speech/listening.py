"""What the flow engine asks of speech: listen to one answer (keys or voice) to a question.

Types only; :mod:`ivr.speech.listen` implements :class:`Listener` for every transport.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ivr.audio.frames import AudioClip
from ivr.speech.asr import Transcript
from ivr.speech.endpoint import EndpointConfig
from ivr.telephony.call import Call, Prompt


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """How to listen for one answer."""

    keys: str
    """Keys armed while prompts play and while listening."""
    max_digits: int = 1
    key_timeout: float = 5.0
    """Seconds to wait for keys after the prompts (keypad-only listening)."""
    phrases: tuple[str, ...] = ()
    """What the question expects (vosk grammar, whisper bias); empty: free speech."""
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    barge_in: bool = True
    """Speech stops the prompt; off for prompts that must be heard to the end."""
    complete: Callable[[Transcript], bool] | None = None
    """Whether words already form a whole answer (decoded at the first pause): the turn then
    ends after ``complete_silence`` seconds of silence instead of ``end_silence``."""


@dataclass(frozen=True, slots=True)
class Heard:
    """The caller's answer to one question."""

    mode: Literal["dtmf", "speech", "none"]
    digits: str = ""
    transcript: Transcript | None = None
    timed_out: bool = False
    """Keys: the caller stopped before a terminator or the maximum."""
    error: str | None = None
    """A speech error code (``asr-busy``…): the question goes on with the keypad."""
    end_to_final_ms: float | None = None
    """From the end of the caller's speech to the final transcript."""
    barged_in: bool = False
    audio: AudioClip | None = None
    """The caller's speech in this answer (distress scoring); None for keys."""

    @property
    def no_input(self) -> bool:
        return self.mode == "none" or (self.mode == "speech" and self.transcript is not None
                                       and self.transcript.empty)


class Listener(Protocol):
    """Plays a question's prompts and returns the answer, by keys or by voice."""

    def available(self, language: str) -> bool:
        """True when callers of ``language`` can answer by voice."""
        ...

    async def ask(self, call: Call, prompts: Sequence[Prompt], language: str,
                  options: ListenOptions) -> Heard: ...
