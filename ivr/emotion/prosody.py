"""Prosody features of one turn (praat-parselmouth) and arousal relative to the caller.

A raised, wider-ranging, louder, faster voice than the caller's own earlier turns is the
voice side of distress. Without earlier turns only weak population norms are available,
so the result carries little confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from statistics import median

import numpy as np
import parselmouth

from ivr.audio.frames import AudioClip
from ivr.emotion.types import Prosody

MIN_SPEECH_SECONDS = 0.6
"""Less voiced speech than this (a single word, a cough, silence) gives no prosody."""
SILENCE_DB = 25.0
"""Frames this far under the turn's loudest are pauses."""


def features(clip: AudioClip) -> Prosody | None:
    """The turn's prosody, or None when there is too little voiced speech to judge."""
    if clip.rate <= 0 or len(clip.samples) < clip.rate * MIN_SPEECH_SECONDS:
        return None
    x = clip.samples.astype(np.float64) / 32768.0
    clipped = float(np.mean(np.abs(clip.samples.astype(np.int32)) >= 32000))
    sound = parselmouth.Sound(x, sampling_frequency=clip.rate)
    pitch = sound.to_pitch(time_step=0.01, pitch_floor=75.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    if len(voiced) * 0.01 < MIN_SPEECH_SECONDS * 0.5:
        return None
    intensity = sound.to_intensity(time_step=0.01, minimum_pitch=100.0).values[0]
    loud = intensity > intensity.max() - SILENCE_DB
    idx = np.flatnonzero(loud)
    span = intensity[idx[0]: idx[-1] + 1] if len(idx) else intensity
    speaking = span > span.max() - SILENCE_DB
    speech_seconds = float(speaking.sum()) * 0.01
    if speech_seconds < MIN_SPEECH_SECONDS:
        return None
    p10, p90 = np.percentile(voiced, [10, 90])
    return Prosody(
        pitch_hz=float(np.median(voiced)),
        pitch_range_st=float(12 * np.log2(p90 / p10)),
        loudness_db=float(np.median(span[speaking])),
        rate_per_s=_peaks(span) / speech_seconds,
        pause_ratio=float(1.0 - speaking.mean()),
        speech_seconds=speech_seconds,
        clipped=clipped,
    )


def _peaks(db: np.ndarray) -> int:
    """Syllable nuclei, roughly: intensity peaks 2 dB above both neighbouring dips."""
    count, low, high, rising = 0, db[0], db[0], True
    for v in db[1:]:
        if rising:
            if v > high:
                high = v
            elif high - v >= 2.0 and high - low >= 2.0:
                count, low, rising = count + 1, v, False
        elif v < low:
            low = v
        elif v - low >= 2.0:
            high, rising = v, True
    return count


def arousal(now: Prosody, earlier: Sequence[Prosody]) -> tuple[float, float, dict[str, float]]:
    """(arousal 0..1, confidence, signals) of ``now`` against the caller's earlier turns."""
    if earlier:
        base = Prosody(*(median(getattr(p, f.name) for p in earlier) for f in fields(Prosody)))
        confidence = 0.6 if len(earlier) == 1 else 0.7
    else:  # population norms: a rough guess at a calm voice, hence low confidence
        base = Prosody(pitch_hz=now.pitch_hz if now.pitch_hz < 180 else 180.0,
                       pitch_range_st=5.0, loudness_db=now.loudness_db, rate_per_s=4.0,
                       pause_ratio=0.2, speech_seconds=now.speech_seconds, clipped=0.0)
        confidence = 0.25
    signals = {
        "pitch_st": round(12 * float(np.log2(now.pitch_hz / base.pitch_hz)), 2),
        "range_st": round(now.pitch_range_st - base.pitch_range_st, 2),
        "loudness_db": round(now.loudness_db - base.loudness_db, 2),
        "rate_ratio": round(now.rate_per_s / base.rate_per_s if base.rate_per_s else 1.0, 2),
        "pause_ratio": round(now.pause_ratio - base.pause_ratio, 2),
    }
    parts = [
        (_ramp(signals["pitch_st"], 1.0, 5.0), 0.4),
        (_ramp(signals["range_st"], 1.0, 6.0), 0.1),
        (_ramp(signals["loudness_db"], 1.5, 8.0), 0.35),
        (_ramp(signals["rate_ratio"], 1.1, 1.5), 0.15),
    ]
    if now.clipped > 0.01:  # loudness of clipped audio says more about the line than the caller
        parts[2] = (0.0, 0.0)
        confidence *= 0.5
    total = sum(w for _, w in parts)
    return sum(v * w for v, w in parts) / total, confidence, signals


def _ramp(value: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (high - low))))
