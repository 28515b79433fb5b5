"""Asterisk's MixMonitor, as far as the AGI peer needs it: files in the spool.

From app_mixmonitor.c (Asterisk 22): ``MixMonitor(file[,options[,command]])`` creates the
file's directory, opens it and answers 0 at once (a thread records in the background);
``StopMixMonitor([id])`` closes the file ("guarantees the file is available to the
dialplan after calling StopMixMonitor") and answers 0, also when nothing was recording;
a still-running MixMonitor is closed when the channel goes away. The ``.wav`` writer
(format_wav.c) writes a 44-byte header with zero sizes first and fixes the sizes on close.

Audio: the peer has no clock, so it writes what the channel would carry when it happens:
each prompt played (its samples, when the peer can find the file; else a tone of the
length the peer reports) and each key the caller presses as an inband DTMF tone (100 ms,
as with ``dtmf_mode=inband``), so a test can tell whether keys reached the recording.
"""

from __future__ import annotations

import contextlib
import struct
import wave
from pathlib import Path

import numpy as np

RATE = 8000
_DTMF = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
         "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
         "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
         "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def dtmf_tone(key: str, seconds: float = 0.1) -> bytes:
    """An inband DTMF tone plus 50 ms of silence, 8 kHz 16-bit mono."""
    low, high = _DTMF[key]
    t = np.arange(int(RATE * seconds)) / RATE
    tone = 8000 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
    return tone.astype("<i2").tobytes() + bytes(int(RATE * 0.05) * 2)


def tone(samples: int, hz: float = 440.0) -> bytes:
    t = np.arange(samples) / RATE
    return (6000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def prompt_audio(path: Path | None, samples: int) -> bytes:
    """A prompt's samples as Asterisk would mix them (8 kHz 16-bit mono)."""
    if path is not None and path.suffix == ".wav":
        with contextlib.suppress(wave.Error, EOFError, OSError), wave.open(str(path), "rb") as w:
            if (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (RATE, 2, 1):
                return w.readframes(w.getnframes())
    return tone(samples)


class _WavFile:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = path.open("wb", buffering=0)
        self._f.write(b"RIFF" + bytes(4) + b"WAVEfmt " + struct.pack(
            "<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16) + b"data" + bytes(4))
        self._f.flush()
        self.bytes = 0

    def write(self, pcm: bytes) -> None:
        # Like format_wav.c on a full disk: "Bad write", the frame is lost, recording goes on.
        with contextlib.suppress(OSError):
            self.bytes += self._f.write(pcm) or 0

    def close(self) -> None:
        if self._f.closed:
            return
        with contextlib.suppress(OSError):
            self._f.seek(4)
            self._f.write(struct.pack("<I", 36 + self.bytes))
            self._f.seek(40)
            self._f.write(struct.pack("<I", self.bytes))
        self._f.close()


class SimulatedMixMonitor:
    """The MixMonitors running on one simulated channel."""

    def __init__(self) -> None:
        self.running: list[_WavFile] = []
        self.files: list[Path] = []

    def start(self, data: str) -> list[str]:
        filename = data.split(",", 1)[0]
        if not filename:
            return ["200 result=-1"]  # "MixMonitor requires an argument (filename)"
        path = Path(filename)
        self.running.append(_WavFile(path))
        self.files.append(path)
        return ["200 result=0"]

    def stop(self) -> list[str]:
        if self.running:
            self.running.pop(0).close()
        return ["200 result=0"]  # stop_mixmonitor_exec always returns 0

    def hear(self, pcm: bytes) -> None:
        for wav in self.running:
            wav.write(pcm)

    def channel_gone(self) -> None:
        while self.running:
            self.running.pop().close()
