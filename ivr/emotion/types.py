"""What a distress scorer takes and returns, and the protocol the flow engine calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ivr.audio.frames import AudioClip


@dataclass(frozen=True, slots=True)
class Prosody:
    """How one turn sounded: the features distress is judged from, relative to the caller."""

    pitch_hz: float
    """Median F0 of voiced frames."""
    pitch_range_st: float
    """10th to 90th percentile of F0, in semitones."""
    loudness_db: float
    """Median intensity of the speech frames (dB, uncalibrated)."""
    rate_per_s: float
    """Intensity peaks (≈ syllables) per second of speech."""
    pause_ratio: float
    """Share of the speech span (first to last voiced frame) that is silent."""
    speech_seconds: float
    clipped: float
    """Share of samples at full scale (clipped or very loud audio is less trustworthy)."""


@dataclass(frozen=True, slots=True)
class TurnInput:
    """One caller turn to score: words, audio, or both."""

    language: str
    text: str | None = None
    audio: AudioClip | None = None
    agent_requests: int = 0
    """Requests for an agent earlier in this call (keys or words), this turn excluded."""


@dataclass(frozen=True, slots=True)
class Distress:
    """A turn's distress score, why, and how sure the scorer is."""

    score: float
    """0 (no sign of distress) to 1."""
    confidence: float
    """0 (no evidence: silence, music, one word, another language) to 1."""
    signals: dict[str, float] = field(default_factory=dict)
    """Contributing signals by name (cues 0..1, prosody deltas in their own units)."""
    reasons: tuple[str, ...] = ()
    """Short human words for the supervisor ("repeated agent requests", "pitch +4 st")."""
    prosody: Prosody | None = None
    """This turn's features, kept as the caller's baseline for later turns."""


NO_EVIDENCE = Distress(0.0, 0.0)


class EmotionScorer(Protocol):
    """Scores one caller turn; ``earlier`` is how the same caller sounded before (calm or not).

    The rule-based :class:`ivr.emotion.scorer.CueScorer` implements it; a trained
    speech-emotion model would too (see docs/emotion.md). Called off the event loop.
    """

    def score(self, turn: TurnInput, earlier: Sequence[Prosody] = ()) -> Distress: ...
