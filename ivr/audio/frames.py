"""Audio as it moves between transports and speech engines: chunks and whole clips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class AudioClip:
    """A whole utterance: 16-bit mono samples and their rate."""

    samples: Samples
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0

    @classmethod
    def from_bytes(cls, pcm: bytes, rate: int) -> AudioClip:
        """Little-endian signed 16-bit PCM."""
        return cls(np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], "<i2").astype(np.int16), rate)


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A few milliseconds of the caller's audio from a streaming transport."""

    samples: Samples
    rate: int
    at: float = 0.0
    """Seconds since the stream started (the transport's media clock)."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate
