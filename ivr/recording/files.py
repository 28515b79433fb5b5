"""Sealed recording files on disk (blocking; the store runs these in worker threads).

A recording is written as ``<id>.rec.part`` under an exclusive ``flock`` and renamed to
``<id>.rec`` once its final chunk is on disk. A ``.part`` file nobody holds locked was cut
short by a crash: :func:`recover_part` keeps every complete chunk and drops a torn tail.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ivr.recording.api import RecordingError
from ivr.recording.crypto import (
    AudioFormat,
    FrameInfo,
    SealedFile,
    SealWriter,
    StreamHeader,
    file_sha256,
    new_header,
    plain_length,
    read_sealed,
    rewrite_slots,
    scan_frames,
)
from ivr.recording.keys import KeyEntry, Keyring

PART = ".part"


@dataclass(frozen=True, slots=True)
class Sealed:
    """What the metadata row needs once a file is closed or recovered."""

    sha256: str
    size: int
    duration: float
    complete: bool
    key_id: str


class OpenRecording:
    """A recording being written: feed PCM with :meth:`write`, then :meth:`close`."""

    def __init__(self, folder: Path, recording_id: str, call_id: str, created: str,
                 audio: AudioFormat, chunk_bytes: int, keyring: Keyring,
                 key: KeyEntry | None = None) -> None:
        self.path = folder / f"{recording_id}.rec"
        self.part = self.path.with_name(self.path.name + PART)
        self.audio = audio
        header = new_header(recording_id, call_id, created, audio, chunk_bytes)
        data_key = secrets.token_bytes(32)
        slot = keyring.wrap(data_key, header.digest(), key=key)
        self.key_id = slot.key_id
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as err:
            raise RecordingError("rec-io", f"cannot create {self.part.name}: {err}") from err
        self._f: BinaryIO = os.fdopen(fd, "wb")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            self._writer = SealWriter(self._f, header, slot, data_key)
        except BaseException:
            self._f.close()
            self.part.unlink(missing_ok=True)
            raise

    def write(self, pcm: bytes) -> None:
        self._writer.write(pcm)

    @property
    def duration(self) -> float:
        return self._writer.plain_bytes / self.audio.bytes_per_second

    def close(self) -> Sealed:
        """Final chunk, fsync, rename into place. On a write error (disk full) everything
        already sealed stays in the ``.part`` file for recovery to mark incomplete."""
        try:
            digest = self._writer.close()
        finally:
            self._f.close()  # releases the lock
        os.replace(self.part, self.path)
        _fsync_dir(self.path.parent)
        return Sealed(digest, self._writer.size, self.duration, True, self.key_id)

    def abandon(self) -> None:
        """Stop without a final chunk (kept as an incomplete recording by recovery)."""
        if not self._f.closed:
            try:
                self._f.flush()
            except OSError:
                pass
            self._f.close()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_locked(path: Path) -> bool:
    """True while a live writer holds the file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def recover_part(part: Path) -> tuple[str, Sealed] | None:
    """Turn an abandoned ``.part`` into a ``.rec``; (recording id, state) or None when a live
    writer holds it. Complete chunks are kept, a torn last chunk is cut off."""
    with part.open("r+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        sealed = read_sealed(f)
        frames, end = scan_frames(f, sealed)
        f.truncate(end)
        f.flush()
        os.fsync(f.fileno())
        digest, size = file_sha256(f)
    final = bool(frames) and frames[-1].final
    target = part.with_name(part.name.removesuffix(PART))
    os.replace(part, target)
    slots = sealed.best_slots()
    duration = plain_length(frames) / sealed.header.audio.bytes_per_second
    return sealed.header.recording_id, Sealed(digest, size, duration, final,
                                              slots[0].key_id if slots else "")


@dataclass
class Reader:
    """An opened recording, key unwrapped, frames located; close when done."""

    f: BinaryIO
    sealed: SealedFile
    frames: list[FrameInfo]
    data_key: bytes

    @property
    def header(self) -> StreamHeader:
        return self.sealed.header

    @property
    def complete(self) -> bool:
        return bool(self.frames) and self.frames[-1].final


def open_reader(path: Path, keyring: Keyring) -> Reader:
    """Parse, unwrap (newest slot first) and scan; raises before any plaintext exists."""
    try:
        f = path.open("rb")
    except FileNotFoundError as err:
        raise RecordingError("rec-not-found", f"recording file {path.name} is missing") from err
    try:
        sealed = read_sealed(f)
        data_key = unwrap_best(sealed, keyring)
        frames, _end = scan_frames(f, sealed)
        return Reader(f, sealed, frames, data_key)
    except BaseException:
        f.close()
        raise


def unwrap_best(sealed: SealedFile, keyring: Keyring) -> bytes:
    slots = sealed.best_slots()
    if not slots:
        raise RecordingError("rec-bad-header", "no readable key slot in the recording")
    first: RecordingError | None = None
    for slot in slots:
        try:
            return keyring.unwrap(slot, sealed.digest)
        except RecordingError as err:
            first = first or err
    assert first is not None
    raise first


def rewrap(path: Path, keyring: Keyring, target: KeyEntry) -> tuple[str, int]:
    """Re-wrap a recording's data key under ``target`` (slots only); new (sha256, size)."""
    with path.open("r+b") as f:
        sealed = read_sealed(f)
        data_key = unwrap_best(sealed, keyring)
        generation = max(s.generation for s in sealed.best_slots()) + 1
        slot = keyring.wrap(data_key, sealed.digest, generation=generation, key=target)
        rewrite_slots(f, sealed, slot)
        return file_sha256(f)
