"""Read PCM WAV files as they are, including ones still being written or cut short.

Asterisk's wav writer fixes the RIFF and data sizes only when it closes the file, so a
segment from a crashed Asterisk says ``data`` size 0 (or something too big): we then take
the samples up to the end of the file, whole frames only.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ivr.recording.api import RecordingError
from ivr.recording.crypto import AudioFormat

_PCM, _EXTENSIBLE = 1, 0xFFFE


@dataclass(frozen=True, slots=True)
class PcmWav:
    """Where a WAV file's samples are."""

    audio: AudioFormat
    data_offset: int
    data_bytes: int
    sizes_fixed: bool
    """False when the header's data size was wrong and the file end was used instead."""


def probe_wav(f: BinaryIO, name: str = "file") -> PcmWav:
    """Find the ``fmt `` and ``data`` chunks; ``rec-bad-audio`` for anything but PCM WAV."""
    f.seek(0, 2)
    end = f.tell()
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise RecordingError("rec-bad-audio", f"{name} is not a WAV file")
    audio: AudioFormat | None = None
    pos = 12
    while pos + 8 <= end:
        f.seek(pos)
        chunk_id, size = struct.unpack("<4sI", f.read(8))
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = f.read(min(size, 40))
            if len(fmt) < 16:
                raise RecordingError("rec-bad-audio", f"{name}: short fmt chunk")
            tag, channels, rate, _bps, _align, bits = struct.unpack("<HHIIHH", fmt[:16])
            if tag == _EXTENSIBLE and len(fmt) >= 26:
                tag = struct.unpack("<H", fmt[24:26])[0]
            if tag != _PCM or bits not in (8, 16, 24, 32) or not channels or not rate:
                raise RecordingError("rec-bad-audio", f"{name}: only PCM WAV can be stored "
                                     f"(format tag {tag}, {bits} bits)")
            audio = AudioFormat(rate, channels, bits // 8)
        elif chunk_id == b"data":
            if audio is None:
                raise RecordingError("rec-bad-audio", f"{name}: data before fmt chunk")
            block = audio.channels * audio.sample_width
            fixed = 0 < size <= end - body
            length = size if fixed else end - body
            return PcmWav(audio, body, length - length % block, fixed)
        pos = body + size + (size & 1)
    raise RecordingError("rec-bad-audio", f"{name}: no data chunk")


def read_pcm(path: Path) -> tuple[AudioFormat, bytes, bool]:
    """Samples of a whole WAV file: (format, PCM bytes, header sizes were right)."""
    try:
        with path.open("rb") as f:
            info = probe_wav(f, name=path.name)
            f.seek(info.data_offset)
            return info.audio, f.read(info.data_bytes), info.sizes_fixed
    except OSError as err:
        raise RecordingError("rec-io", f"cannot read {path}: {err}") from err


def iter_pcm(f: BinaryIO, info: PcmWav, block: int = 1 << 20) -> Iterator[bytes]:
    """The samples of an open WAV file in blocks of at most ``block`` bytes."""
    f.seek(info.data_offset)
    left = info.data_bytes
    while left > 0:
        data = f.read(min(block, left))
        if not data:
            return
        left -= len(data)
        yield data
