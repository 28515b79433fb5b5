"""Endpointing as a pure state machine: VAD decisions and durations in, turn events out.

No I/O and no clock: time is the sum of the frame durations fed in. The caller starts
speaking once ``min_speech`` seconds of speech have run with gaps no longer than
``speech_gap`` (so a cough does not barge in); the turn ends after ``end_silence`` seconds
of trailing silence, or at ``max_utterance``. ``no_input`` counts from :meth:`arm` (the end
of the prompt), so a caller who listens to a long prompt is not timed out while it plays.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

_EPS = 1e-6
"""Frame durations add up with float error (50 × 0.02 ≠ 1.0)."""


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """Endpointing thresholds in seconds (defaults near the industry's)."""

    end_silence: float = 0.6
    no_input: float = 5.0
    max_utterance: float = 15.0
    min_speech: float = 0.2
    """Speech needed before the caller counts as speaking (and barges in)."""
    speech_gap: float = 0.1
    """Silence inside a speech run that does not reset it."""
    pause: float = 0.2
    """Trailing silence after which a whole-utterance engine may start decoding early."""
    complete_silence: float = 0.5
    """Trailing silence after which a confident, complete answer (decoded at the pause) ends
    the turn before ``end_silence``. Longer than the pause between two sentences (about
    0.4 s), so "I want a refund. This is the fifth time…" is not cut after its first
    sentence."""

    def __post_init__(self) -> None:
        if not 0 < self.pause <= self.end_silence:
            raise ValueError("pause must be >0 and at most end_silence")
        if not self.pause <= self.complete_silence <= self.end_silence:
            raise ValueError("complete_silence must be between pause and end_silence")
        if min(self.no_input, self.max_utterance, self.min_speech) <= 0:
            raise ValueError("timeouts must be positive")


class Turn(enum.Enum):
    """What the endpointer saw."""

    SPEECH_START = "speech_start"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    MAX_UTTERANCE = "max_utterance"
    NO_INPUT = "no_input"


@dataclass(frozen=True, slots=True)
class TurnEvent:
    kind: Turn
    at: float
    """Stream time (seconds since the endpointer started) when it was decided."""
    speech_started: float | None = None
    """For SPEECH_START: when the speech run began (audio from then on belongs to the turn)."""
    speech_ended: float | None = None
    """For END/PAUSE/MAX: when the last speech frame ended."""


class Endpointer:
    """Feed it one VAD decision per frame; it returns what happened (usually nothing)."""

    def __init__(self, config: EndpointConfig | None = None) -> None:
        self.config = config or EndpointConfig()
        self.now = 0.0
        self.armed_at: float | None = None
        self.speaking = False
        self.done = False
        self._run_start: float | None = None
        self._run_speech = 0.0
        self._last_speech_end = 0.0
        self._paused = False

    @property
    def paused(self) -> bool:
        """Speaking, but silent for at least ``pause`` seconds."""
        return self.speaking and self._paused

    @property
    def complete_pause(self) -> bool:
        """Paused for at least ``complete_silence``: a complete answer may end the turn."""
        return self.paused and self.now - self._last_speech_end >= (
            self.config.complete_silence - _EPS)

    def arm(self) -> None:
        """Start the no-input timer (call when the prompt has finished)."""
        if self.armed_at is None:
            self.armed_at = self.now

    def feed(self, is_speech: bool, seconds: float) -> list[TurnEvent]:
        """One frame of ``seconds`` classified by the VAD."""
        if self.done:
            return []
        start, self.now = self.now, self.now + seconds
        if is_speech:
            self._last_speech_end = self.now
        return self._while_speaking(is_speech) if self.speaking else self._while_waiting(
            is_speech, start, seconds)

    def _while_waiting(self, is_speech: bool, start: float, seconds: float) -> list[TurnEvent]:
        c = self.config
        if is_speech:
            if self._run_start is None:
                self._run_start = start
            self._run_speech += seconds
            if self._run_speech >= c.min_speech - _EPS:
                self.speaking = True
                return [TurnEvent(Turn.SPEECH_START, self.now, speech_started=self._run_start)]
        elif self._run_start is not None and self.now - self._last_speech_end > c.speech_gap:
            self._run_start, self._run_speech = None, 0.0
        if self.armed_at is not None and self._run_start is None and (
                self.now - self.armed_at >= c.no_input - _EPS):
            self.done = True
            return [TurnEvent(Turn.NO_INPUT, self.now)]
        return []

    def _while_speaking(self, is_speech: bool) -> list[TurnEvent]:
        c = self.config
        assert self._run_start is not None
        if self.now - self._run_start >= c.max_utterance - _EPS:
            self.done = True
            return [TurnEvent(Turn.MAX_UTTERANCE, self.now, speech_ended=self._last_speech_end)]
        silence = self.now - self._last_speech_end
        if is_speech:
            if self._paused:
                self._paused = False
                return [TurnEvent(Turn.RESUME, self.now)]
            return []
        if silence >= c.end_silence - _EPS:
            self.done = True
            return [TurnEvent(Turn.END, self.now, speech_ended=self._last_speech_end)]
        if silence >= c.pause - _EPS and not self._paused:
            self._paused = True
            return [TurnEvent(Turn.PAUSE, self.now, speech_ended=self._last_speech_end)]
        return []
