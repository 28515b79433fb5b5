"""The WAV codec (int16 mono numpy arrays in and out) and resampling to the telephone rate.

Pure: bytes and streams in, bytes out. Files are read and written by the adapters that use
them (:mod:`ivr.telephony.prompt_files`). Asterisk plays a ``.wav`` prompt as 8 kHz 16-bit
mono signed-linear audio: :func:`to_telephony` then :func:`encode_wav` produce exactly that.
"""

from __future__ import annotations

import contextlib
import io
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import soxr

from ivr.errors import AudioError

TELEPHONY_RATE = 8000
"""Samples per second of the audio Asterisk plays from a ``.wav`` file."""

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class WavFormat:
    """What a WAV file's header says about its audio."""

    rate: int  # samples per second
    channels: int
    sample_width: int  # bytes per sample: 2 for 16-bit
    frames: int  # samples per channel

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate


def read_wav_header(stream: BinaryIO) -> WavFormat:
    """Read only the header of a PCM WAV stream (cheap: no sample data is read).

    Raises :class:`~ivr.errors.AudioError` (``audio-bad-wav``)."""
    with _open_wav(stream) as wav:
        return WavFormat(
            wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()
        )


def decode_wav(data: bytes) -> tuple[Samples, int]:
    """A PCM WAV file's bytes as int16 mono samples (channels averaged) and its sample rate.

    Raises :class:`~ivr.errors.AudioError` (``audio-bad-wav``)."""
    with _open_wav(io.BytesIO(data)) as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    samples = _pcm_to_int16(raw, width)
    frames = samples[: len(samples) - len(samples) % channels].reshape(-1, channels)
    if channels == 1:
        return frames[:, 0].copy(), rate
    return _clip_int16(frames.mean(axis=1)), rate


def encode_wav(samples: npt.ArrayLike, rate: int) -> bytes:
    """A 16-bit mono PCM WAV file's bytes.

    ``samples`` are int16-scale values; other dtypes are rounded and clipped to int16.
    """
    pcm = _clip_int16(np.asarray(samples))
    if pcm.ndim != 1:
        raise ValueError(f"mono samples must be 1-D, got shape {pcm.shape}")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()


def resample(samples: npt.ArrayLike, src_rate: int, dst_rate: int) -> Samples:
    """Convert mono audio from ``src_rate`` to ``dst_rate`` with soxr; int16 out, clipped."""
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    pcm = np.asarray(samples)
    if src_rate == dst_rate or pcm.size == 0:
        return _clip_int16(pcm)
    # Resample in float so overshoot near full scale is clipped here, not wrapped.
    return _clip_int16(soxr.resample(pcm.astype(np.float32), src_rate, dst_rate, quality="HQ"))


def to_telephony(samples: npt.ArrayLike, rate: int) -> Samples:
    """Convert mono audio to the 8 kHz int16 Asterisk plays from ``.wav`` files."""
    return resample(samples, rate, TELEPHONY_RATE)


@contextlib.contextmanager
def _open_wav(stream: BinaryIO) -> Iterator[wave.Wave_read]:
    # Messages say what is wrong with the data; a file adapter puts the file's name first.
    try:
        with wave.open(stream, "rb") as wav:
            if wav.getframerate() <= 0 or wav.getnchannels() <= 0:
                raise AudioError("audio-bad-wav", "has an impossible WAV header")
            if wav.getsampwidth() not in (1, 2, 3, 4):
                raise AudioError("audio-bad-wav", f"has {wav.getsampwidth()}-byte samples")
            yield wav
    except (wave.Error, EOFError, ValueError) as err:
        raise AudioError("audio-bad-wav", f"is not a PCM WAV file: {err}") from err


def _pcm_to_int16(raw: bytes, width: int) -> Samples:
    raw = raw[: len(raw) - len(raw) % width]
    if width == 1:  # 8-bit WAV is unsigned
        return ((np.frombuffer(raw, np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if width == 3:  # keep the two most significant bytes of each little-endian triple
        triples = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        return np.ascontiguousarray(triples[:, 1:]).view("<i2").ravel().astype(np.int16)
    if width == 4:
        return (np.frombuffer(raw, "<i4") >> 16).astype(np.int16)
    return np.frombuffer(raw, "<i2").astype(np.int16)


def _clip_int16(samples: npt.NDArray[np.generic]) -> Samples:
    if samples.dtype == np.int16:
        return samples.astype(np.int16)  # a copy
    return np.clip(np.rint(samples.astype(np.float64)), -32768, 32767).astype(np.int16)
