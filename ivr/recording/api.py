"""The contract between the recording store and its readers (CLI, web player).

The store implements :class:`RecordingLibrary`; the web UI and CLI only use this.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ivr.errors import IvrError


class RecordingError(IvrError):
    """Recording trouble with a stable code: ``rec-auth-failed``, ``rec-no-key``,
    ``rec-key-retired``, ``rec-bad-header``, ``rec-future-version``, ``rec-incomplete``,
    ``rec-not-found``, ``rec-disk-full``."""

    area = "rec"


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """What a supervisor sees about one recording (no key material)."""

    id: str
    call_id: str
    caller: str | None
    created: datetime
    duration: float
    """Seconds of audio."""
    format: str
    """Container of the decrypted audio, e.g. ``wav``."""
    sample_rate: int
    key_id: str
    complete: bool
    size: int
    """Bytes of ciphertext on disk."""
    sha256: str
    """SHA-256 of the ciphertext file."""


class RecordingLibrary(Protocol):
    """Find recordings and decrypt them for an audited reader."""

    async def list(self, *, caller: str | None = None, since: datetime | None = None,
                   call_id: str | None = None, limit: int = 100) -> list[RecordingInfo]: ...

    async def get(self, recording_id: str) -> RecordingInfo | None: ...

    def open_wav(self, recording_id: str, *, actor: str, channel: str, reason: str,
                 allow_incomplete: bool = False) -> AsyncIterator[bytes]:
        """Decrypted audio as a WAV byte stream, chunk by chunk, as it is authenticated.

        Appends one audit row per decryption (actor, channel, recording, reason, result).
        Raises :class:`RecordingError` before the first byte for a missing or retired key,
        a bad or future header, or an incomplete recording without ``allow_incomplete``;
        an authentication failure later raises ``rec-auth-failed`` and no further bytes
        are yielded (callers writing a file must then delete it).
        """
        ...
