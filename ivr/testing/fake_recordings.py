"""A test fake of :class:`ivr.recording.api.RecordingLibrary`: real WAV audio, no crypto.

It keeps generated recordings in memory, appends one audit row per ``open_wav`` like the
real store, and can be told to fail before the first byte or after some chunks, so the web
player's error paths can be exercised. Not for production: nothing here is encrypted.
"""

from __future__ import annotations

import io
import uuid
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from ivr.audit import AuditEntry, AuditLog
from ivr.recording.api import RecordingError, RecordingInfo

CHUNK_BYTES = 16_000
"""One second of 8 kHz 16-bit mono per yielded chunk."""


def tone_wav(seconds: float, *, rate: int = 8000, hz: float = 440.0) -> bytes:
    """A mono 16-bit PCM WAV of a sine tone (quiet, so tests don't blast speakers)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.2 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()


@dataclass
class _Stored:
    info: RecordingInfo
    audio: bytes
    fail_before: str | None = None
    fail_after_chunks: int | None = None


class FakeRecordingLibrary:
    """In-memory recordings implementing the ``RecordingLibrary`` protocol."""

    def __init__(self, audit: AuditLog | None = None) -> None:
        self._audit = audit
        self._items: dict[str, _Stored] = {}

    def add(self, call_id: str, *, caller: str | None = None, seconds: float = 3.0,
            complete: bool = True, created: datetime | None = None) -> RecordingInfo:
        """Store a tone recording for ``call_id``; returns what ``list`` will show."""
        audio = tone_wav(seconds)
        info = RecordingInfo(
            id=uuid.uuid4().hex, call_id=call_id, caller=caller,
            created=created or datetime.now(UTC), duration=seconds, format="wav",
            sample_rate=8000, key_id="fake-key", complete=complete, size=len(audio),
            sha256="0" * 64)
        self._items[info.id] = _Stored(info, audio)
        return info

    def break_recording(self, recording_id: str, *, before: str | None = None,
                        after_chunks: int | None = None) -> None:
        """Make ``open_wav`` raise ``before`` (a code) up front, or ``rec-auth-failed``
        after ``after_chunks`` chunks."""
        item = self._items[recording_id]
        self._items[recording_id] = replace(item, fail_before=before,
                                            fail_after_chunks=after_chunks)

    async def list(self, *, caller: str | None = None, since: datetime | None = None,
                   call_id: str | None = None, limit: int = 100) -> list[RecordingInfo]:
        found = [s.info for s in self._items.values()
                 if (call_id is None or s.info.call_id == call_id)
                 and (caller is None or caller in (s.info.caller or ""))
                 and (since is None or s.info.created >= since)]
        return sorted(found, key=lambda i: i.created, reverse=True)[:limit]

    async def get(self, recording_id: str) -> RecordingInfo | None:
        item = self._items.get(recording_id)
        return item.info if item else None

    async def _record(self, actor: str, channel: str, recording_id: str, reason: str,
                      outcome: str) -> None:
        if self._audit is not None:
            await self._audit.append(AuditEntry(actor=actor, action="recording.play",
                                                outcome=outcome, subject=recording_id,
                                                channel=channel, reason=reason))

    async def open_wav(self, recording_id: str, *, actor: str, channel: str, reason: str,
                       allow_incomplete: bool = False) -> AsyncIterator[bytes]:
        item = self._items.get(recording_id)
        code = None
        if item is None:
            code = "rec-not-found"
        elif item.fail_before:
            code = item.fail_before
        elif not item.info.complete and not allow_incomplete:
            code = "rec-incomplete"
        if code is not None or item is None:
            await self._record(actor, channel, recording_id, reason, code or "rec-not-found")
            raise RecordingError(code or "rec-not-found", f"cannot open {recording_id}")
        await self._record(actor, channel, recording_id, reason, "ok")
        for index, start in enumerate(range(0, len(item.audio), CHUNK_BYTES)):
            if item.fail_after_chunks is not None and index >= item.fail_after_chunks:
                raise RecordingError("rec-auth-failed", f"chunk {index} failed authentication")
            yield item.audio[start:start + CHUNK_BYTES]
