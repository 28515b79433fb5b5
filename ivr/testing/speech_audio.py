"""Test utterances made with espeak-ng (real speech synthesis, no model download)."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from ivr.audio.frames import Samples
from ivr.audio.wav import resample


def espeak(text: str, voice: str = "en-us", *, rate: int = 8000, wpm: int = 150) -> Samples:
    """``text`` spoken by espeak-ng's ``voice`` as int16 mono at ``rate``."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = subprocess.run([exe, "-v", voice, "-s", str(wpm), "--stdout", text],
                         capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(out)) as wav:
        src = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.int16)
    return resample(pcm, src, rate)


def noise(seconds: float, *, rate: int = 8000, dbfs: float = -20.0, seed: int = 1) -> Samples:
    """White noise (a cough, a bump) of ``seconds``."""
    amp = 32768 * 10 ** (dbfs / 20)
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, amp, int(seconds * rate)), -32768, 32767).astype(np.int16)


def silence(seconds: float, *, rate: int = 8000) -> Samples:
    return np.zeros(int(seconds * rate), np.int16)
