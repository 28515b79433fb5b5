"""Shared helpers for recording tests: real files, real crypto, generated audio."""

from __future__ import annotations

import io
import os
import struct
import wave
from pathlib import Path

import numpy as np

from ivr.recording.crypto import AudioFormat, SealWriter, new_header, read_sealed
from ivr.recording.keys import Keyring


def speechlike(seconds: float, rate: int = 8000, seed: int = 1) -> bytes:
    """Deterministic noisy tones: every sample matters, nothing compresses to silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave_ = 5000 * np.sin(2 * np.pi * 220 * t) + rng.normal(0, 800, t.size)
    return np.clip(wave_, -32768, 32767).astype("<i2").tobytes()


def write_wav(path: Path, pcm: bytes, rate: int = 8000, channels: int = 1, width: int = 2,
              extra_chunk: bool = False) -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    data = buf.getvalue()
    if extra_chunk:  # a LIST chunk before data, as many recorders write
        info = b"INFOISFT\x06\x00\x00\x00tests\x00"
        chunk = b"LIST" + struct.pack("<I", len(info)) + info
        data = data[:36] + chunk + data[36:]
        data = data[:4] + struct.pack("<I", len(data) - 8) + data[8:]
    path.write_bytes(data)


def wav_samples(path: Path) -> tuple[tuple[int, int, int], bytes]:
    with wave.open(str(path), "rb") as w:
        return (w.getframerate(), w.getnchannels(), w.getsampwidth()), w.readframes(w.getnframes())


def seal_file(path: Path, keyring: Keyring, pcm: bytes, *, chunk: int = 4096,
              final: bool = True) -> None:
    """Seal ``pcm`` straight to ``path`` (final=False: stop as a crash would)."""
    header = new_header("r" * 32, "c" * 32, "2026-01-01T00:00:00+00:00", AudioFormat(), chunk)
    data_key = os.urandom(32)
    slot = keyring.wrap(data_key, header.digest())
    with path.open("wb") as f:
        w = SealWriter(f, header, slot, data_key)
        w.write(pcm)
        if final:
            w.close()


def frame_offsets(path: Path) -> list[tuple[int, int]]:
    """(start, end) of every chunk frame, header included."""
    from ivr.recording.crypto import scan_frames

    with path.open("rb") as f:
        sealed = read_sealed(f)
        frames, _ = scan_frames(f, sealed)
    return [(fr.offset - 5, fr.offset + fr.length) for fr in frames]


# A dialplan that records, pauses for a PIN, resumes and hangs up.
PLAN = """\
id: rec
languages: [en-US]
start: hello
nodes:
  hello:
    say: {en-US: "Welcome to Acme Pay."}
    next: pin
  pin:
    collect:
      prompt: {en-US: "Please key in your PIN."}
      into: pin
      min_length: 4
      max_length: 4
      secret: true
    next: bye
  bye:
    hangup:
      prompt: {en-US: "Goodbye."}
"""
