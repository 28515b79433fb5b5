"""Mandarin test speech: hanzi → pinyin (pypinyin) → espeak-ng ``cmn-latn-pinyin``, or the
Kokoro neural model (:data:`NEURAL_VOICES`), in several voices, perturbed, and passed
through a telephone line (8 kHz, G.711 μ-law).

The prompts of the hotline use the plain ``cmn-latn-pinyin`` voice; the test voices here
use other espeak-ng variants (a different formant set, pitch and rate) so a bench on them
does not only measure the one voice the prompts speak with.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np

from ivr.audio.frames import Samples
from ivr.audio.wav import resample


@dataclass(frozen=True, slots=True)
class SpeechVoice:
    """An espeak-ng Mandarin voice: ``variant`` (``+f2``, ``+m3``...), pitch 0..99, words/min."""

    name: str
    variant: str
    pitch: int
    wpm: int


VOICES = (
    SpeechVoice("f2-high", "+f2", 72, 150),
    SpeechVoice("m3-low", "+m3", 30, 175),
    SpeechVoice("klatt-mid", "+klatt2", 50, 160),
)
"""Test voices; none is the prompts' voice (plain ``cmn-latn-pinyin``, pitch 50)."""


@dataclass(frozen=True, slots=True)
class NeuralVoice:
    """A Kokoro speaker style (:mod:`ivr.speech.kokoro`) at a speed: neural speech, closer
    to a person than espeak-ng's formants."""

    name: str
    style: str
    speed: float = 1.0


NEURAL_VOICES = (
    NeuralVoice("kokoro-nezumi", "jf_nezumi", 1.0),
    NeuralVoice("kokoro-tebukuro", "jf_tebukuro", 0.95),
)
"""Neural test voices; neither is the prompts' (``kokoro:jm_kumo``) nor ``ivr call``'s
(``kokoro:jf_alpha``), and intent training hears only espeak-ng (models/intents/hear_zh.py)."""

_HAN = re.compile(r"[\u3400-\u9fff]")


def to_pinyin(text: str) -> str:
    """Hanzi as numbered-tone pinyin espeak-ng reads (``我的卡`` → ``wo3 de5 ka3``)."""
    from pypinyin import Style, lazy_pinyin

    words = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    out = " ".join(w for w in words if w.strip())
    return re.sub(r"\s*([，。！？、,.!?])\s*", r", ", out).strip(" ,")


def speak(text: str, voice: SpeechVoice | NeuralVoice = VOICES[0], *,
          rate: int = 8000) -> Samples:
    """``text`` (hanzi) spoken by ``voice`` as int16 mono at ``rate``."""
    if isinstance(voice, NeuralVoice):
        from ivr.speech import kokoro

        return kokoro.speak(text, kokoro.KOKORO_PREFIX + voice.style, rate, voice.speed)
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    spoken = to_pinyin(text) if _HAN.search(text) else text
    out = subprocess.run([exe, "-v", f"cmn-latn-pinyin{voice.variant}", "-p", str(voice.pitch),
                          "-s", str(voice.wpm), "--stdout", spoken],
                         capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(out)) as wav:
        src = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.int16)
    return resample(pcm, src, rate)


def perturb(samples: Samples, rate: int, *, speed: float = 1.0, pitch: float = 1.0,
            snr_db: float | None = None, seed: int = 0) -> Samples:
    """Speed (tempo and pitch together, like a tape), then a pitch shift (resample and
    compensate the length by dropping/repeating 20 ms frames), then white noise at ``snr_db``."""
    x = samples.astype(np.float64)
    if speed != 1.0:
        x = _stretch(x, 1.0 / speed)
    if pitch != 1.0:
        shifted = _stretch(x, 1.0 / pitch)  # all frequencies × pitch, length ÷ pitch
        x = _retime(shifted, len(x), rate)
    if snr_db is not None:
        power = float(np.mean(x ** 2)) or 1.0
        rng = np.random.default_rng(seed)
        x = x + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(x))
    return np.clip(x, -32768, 32767).astype(np.int16)


def _stretch(x: np.ndarray, factor: float) -> np.ndarray:
    n = max(1, int(round(len(x) * factor)))
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x)


def _retime(x: np.ndarray, length: int, rate: int) -> np.ndarray:
    """Overlap-add 40 ms Hann frames read at a different hop: length changes, pitch does not."""
    frame = int(0.04 * rate)
    hop_out = frame // 2
    count = max(1, length // hop_out)
    hop_in = (len(x) - frame) / max(1, count - 1) if len(x) > frame else 0.0
    window = np.hanning(frame)
    out = np.zeros(count * hop_out + frame)
    norm = np.zeros_like(out)
    for i in range(count):
        start = int(i * hop_in)
        piece = x[start:start + frame]
        if len(piece) < frame:
            piece = np.pad(piece, (0, frame - len(piece)))
        out[i * hop_out:i * hop_out + frame] += piece * window
        norm[i * hop_out:i * hop_out + frame] += window
    return (out / np.maximum(norm, 1e-3))[:length]


def telephone(samples: Samples, rate: int) -> Samples:
    """The line: band-limit to 8 kHz and round-trip through G.711 μ-law."""
    pcm = resample(samples, rate, 8000) if rate != 8000 else samples
    return ulaw_decode(ulaw_encode(pcm))


def ulaw_encode(pcm: Samples) -> np.ndarray:
    x = np.clip(pcm.astype(np.int32), -32635, 32635)
    sign = np.where(x < 0, 0x80, 0)
    x = np.abs(x) + 0x84
    exponent = np.floor(np.log2(x)).astype(np.int32) - 7
    mantissa = (x >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def ulaw_decode(codes: np.ndarray) -> Samples:
    u = ~codes.astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    x = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -x, x).astype(np.int16)
