"""Voice activity detection: is this 10/20/30 ms frame speech? (webrtcvad, no model file)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ivr.speech.asr import Samples, SpeechError

FRAME_SECONDS = 0.02
VAD_RATES = (8000, 16000, 32000, 48000)


@dataclass(frozen=True, slots=True)
class VadFrame:
    samples: Samples
    is_speech: bool
    seconds: float


class Vad:
    """webrtcvad at ``aggressiveness`` 0..3, with an energy floor so hiss is not speech."""

    def __init__(self, rate: int, *, aggressiveness: int = 2, min_dbfs: float = -45.0) -> None:
        if rate not in VAD_RATES:
            raise SpeechError("asr-bad-audio", f"VAD needs 8, 16, 32 or 48 kHz audio, got {rate}")
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)
        self.rate = rate
        self.frame = int(rate * FRAME_SECONDS)
        self._floor = 32768.0 * 10 ** (min_dbfs / 20)
        self._carry = np.zeros(0, np.int16)

    def is_speech(self, frame: Samples) -> bool:
        """One frame of exactly ``self.frame`` samples."""
        rms = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) if frame.size else 0.0
        if rms < self._floor:
            return False
        return bool(self._vad.is_speech(frame.astype("<i2").tobytes(), self.rate))

    def frames(self, samples: Samples) -> Iterator[VadFrame]:
        """Classify audio of any length (a remainder waits for the next call)."""
        audio = np.concatenate([self._carry, samples]) if self._carry.size else samples
        whole = len(audio) - len(audio) % self.frame
        for i in range(0, whole, self.frame):
            frame = audio[i:i + self.frame]
            yield VadFrame(frame, self.is_speech(frame), FRAME_SECONDS)
        self._carry = audio[whole:].copy()


def speech_seconds(samples: Samples, rate: int) -> float:
    """How much of a clip the VAD calls speech (0 for silence or noise)."""
    vad = Vad(rate if rate in VAD_RATES else 8000)
    return sum(f.seconds for f in vad.frames(samples) if f.is_speech)
