"""The recording face: what the flow, the web player and the CLI may know of recordings.

The store implements :class:`RecordingLibrary` (the web UI and CLI only use this); the
recording service makes a :class:`CallRecording` per call, which the flow only knows as
:class:`RecordingControl`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
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


class RecordingControl(Protocol):
    """Lets the flow pause a call's recording while a caller keys in a secret."""

    def paused(self, node: str) -> AbstractAsyncContextManager[None]: ...


class CallRecording(RecordingControl, Protocol):
    """One call's recording: started once answered, finished whatever the outcome.

    ``start`` must not raise for a recording problem: the call goes on unrecorded (the
    implementation raises its own alert event), it never fails because of the recording.
    """

    async def start(self) -> None: ...

    async def finish(self) -> None: ...
