"""The sealed recording format: a versioned header, two key slots, AES-256-GCM chunks.

Layout (all integers big-endian)::

    prefix   magic b"HLREC\\x00\\r\\n" | u16 version | u16 flags (0) | u32 header length
    header   canonical JSON (immutable): recording and call id, audio format, chunk size,
             8-byte nonce prefix
    slot A   SLOT_SIZE bytes: sha256(body) | u16 body length | body (JSON) | zero padding
    slot B   the same; the valid slot with the highest generation wins
    chunks   u32 ciphertext length | u8 flags (bit 0: final) | AES-256-GCM ciphertext+tag

A fresh random 256-bit data key per recording seals every chunk. Chunk ``i`` uses nonce
``prefix(8) || u32 i`` and additional data ``sha256(prefix || header) || u64 i || u8 final``,
so a chunk cannot move, be dropped from the middle, be flagged final early or late, or come
from another recording without failing authentication. A stream without a final chunk was
cut short. The key slots hold the data key wrapped by a key-encryption key named by id (see
:mod:`ivr.recording.keys`); rotation rewrites only the slots (see :func:`rewrite_slots`).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ivr.recording.api import RecordingError

MAGIC = b"HLREC\x00\r\n"
VERSION = 1
PREFIX = struct.Struct(">8sHHI")
SLOT_SIZE = 512
_SLOT_HEAD = struct.Struct(">32sH")
FRAME = struct.Struct(">IB")
FINAL = 0x01
TAG_BYTES = 16
MAX_HEADER = 64 * 1024
MAX_CHUNK = 16 * 1024 * 1024 + TAG_BYTES


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """What the sealed plaintext is: raw little-endian PCM samples, exported as WAV."""

    sample_rate: int = 8000
    channels: int = 1
    sample_width: int = 2
    """Bytes per sample (2: 16-bit signed)."""
    container: str = "wav"

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * self.sample_width


@dataclass(frozen=True, slots=True)
class StreamHeader:
    """The immutable header; its hash is bound into every chunk and every key wrap."""

    recording_id: str
    call_id: str
    created: str
    """ISO 8601, UTC."""
    audio: AudioFormat
    chunk_bytes: int
    nonce_prefix: bytes

    def encode(self) -> bytes:
        body = asdict(self)
        body["nonce_prefix"] = self.nonce_prefix.hex()
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return PREFIX.pack(MAGIC, VERSION, 0, len(data)) + data

    def digest(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()


@dataclass(frozen=True, slots=True)
class KeySlot:
    """One wrapped copy of the data key (no secret in the clear)."""

    generation: int
    mode: str
    """``symmetric`` (AES-256-GCM wrap) or ``x25519`` (ephemeral ECDH + HKDF + AES-GCM)."""
    key_id: str
    wrapped: bytes
    """Nonce (12) + wrapped data key + tag."""
    ephemeral: bytes = b""
    """The sender's ephemeral X25519 public key (asymmetric mode)."""

    def encode(self) -> bytes:
        body = json.dumps({"generation": self.generation, "mode": self.mode,
                           "key_id": self.key_id, "wrapped": self.wrapped.hex(),
                           "ephemeral": self.ephemeral.hex()},
                          sort_keys=True, separators=(",", ":")).encode()
        if len(body) > SLOT_SIZE - _SLOT_HEAD.size:
            raise RecordingError("rec-bad-header", "key slot too large")
        raw = _SLOT_HEAD.pack(hashlib.sha256(body).digest(), len(body)) + body
        return raw.ljust(SLOT_SIZE, b"\x00")

    @classmethod
    def decode(cls, raw: bytes) -> KeySlot | None:
        """The slot, or None when it is empty or torn (its checksum does not match)."""
        if len(raw) != SLOT_SIZE:
            return None
        digest, length = _SLOT_HEAD.unpack_from(raw)
        body = raw[_SLOT_HEAD.size:_SLOT_HEAD.size + length]
        if length == 0 or len(body) != length or hashlib.sha256(body).digest() != digest:
            return None
        try:
            d = json.loads(body)
            return cls(int(d["generation"]), str(d["mode"]), str(d["key_id"]),
                       bytes.fromhex(d["wrapped"]), bytes.fromhex(d.get("ephemeral", "")))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class SealedFile:
    """A parsed sealed file: header, its digest, key slots and where chunks start."""

    header: StreamHeader
    digest: bytes
    slots: tuple[KeySlot | None, KeySlot | None]
    data_offset: int

    @property
    def slot_offset(self) -> int:
        return self.data_offset - 2 * SLOT_SIZE

    def best_slots(self) -> list[KeySlot]:
        """Valid slots, newest generation first."""
        return sorted((s for s in self.slots if s is not None), key=lambda s: -s.generation)


def _aad(digest: bytes, index: int, final: bool) -> bytes:
    return digest + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= 2**32:
        raise RecordingError("rec-too-long", "recording exceeds 2^32 chunks")
    return prefix + index.to_bytes(4, "big")


def new_header(recording_id: str, call_id: str, created: str, audio: AudioFormat,
               chunk_bytes: int) -> StreamHeader:
    """A header with a fresh random nonce prefix."""
    return StreamHeader(recording_id, call_id, created, audio, chunk_bytes, os.urandom(8))


def read_sealed(f: BinaryIO) -> SealedFile:
    """Parse prefix, header and slots; ``rec-bad-header`` / ``rec-future-version`` on trouble."""
    f.seek(0)
    raw = f.read(PREFIX.size)
    if len(raw) < PREFIX.size:
        raise RecordingError("rec-bad-header", "file too short for a recording header")
    magic, version, _flags, length = PREFIX.unpack(raw)
    if magic != MAGIC:
        raise RecordingError("rec-bad-header", "not a Hotline recording (bad magic)")
    if version > VERSION:
        raise RecordingError("rec-future-version",
                             f"recording format version {version} is newer than this Hotline "
                             f"(reads up to {VERSION}); upgrade Hotline to read it")
    if version < 1 or length > MAX_HEADER:
        raise RecordingError("rec-bad-header", f"bad header (version {version}, {length} bytes)")
    body = f.read(length)
    slots_raw = f.read(2 * SLOT_SIZE)
    if len(body) != length or len(slots_raw) != 2 * SLOT_SIZE:
        raise RecordingError("rec-bad-header", "file ends inside its header")
    try:
        d = json.loads(body)
        header = StreamHeader(str(d["recording_id"]), str(d["call_id"]), str(d["created"]),
                              AudioFormat(**d["audio"]), int(d["chunk_bytes"]),
                              bytes.fromhex(d["nonce_prefix"]))
    except (ValueError, KeyError, TypeError) as err:
        raise RecordingError("rec-bad-header", f"unreadable header: {err}") from err
    if len(header.nonce_prefix) != 8 or not 0 < header.chunk_bytes + TAG_BYTES <= MAX_CHUNK:
        raise RecordingError("rec-bad-header", "bad nonce prefix or chunk size")
    digest = hashlib.sha256(raw + body).digest()
    slots = (KeySlot.decode(slots_raw[:SLOT_SIZE]), KeySlot.decode(slots_raw[SLOT_SIZE:]))
    return SealedFile(header, digest, slots, PREFIX.size + length + 2 * SLOT_SIZE)


class SealWriter:
    """Seals PCM into an open binary file chunk by chunk, as it arrives.

    Everything written is flushed to the OS chunk by chunk, so a crash loses at most the
    audio still buffered (under one chunk); :meth:`close` writes the final chunk and fsyncs.
    The SHA-256 of every byte written is kept for the metadata row.
    """

    def __init__(self, f: BinaryIO, header: StreamHeader, slot: KeySlot, data_key: bytes, *,
                 hash_ciphertext: bool = True) -> None:
        self._f = f
        self._hashing = hash_ciphertext
        """The store always hashes (metadata); the benchmark also measures the format alone."""
        self._header = header
        self._digest = header.digest()
        self._aes = AESGCM(data_key)
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self.index = 0
        self.plain_bytes = 0
        self.size = 0
        self.closed = False
        head = header.encode() + slot.encode() + slot.encode()
        self._emit(head)

    def _emit(self, data: bytes) -> None:
        try:
            self._f.write(data)
        except OSError as err:
            raise _disk_error(err) from err
        if self._hashing:
            self._hash.update(data)
        self.size += len(data)

    def _seal(self, plain: bytes | memoryview, final: bool) -> None:
        ct = self._aes.encrypt(_nonce(self._header.nonce_prefix, self.index), plain,
                               _aad(self._digest, self.index, final))
        self._emit(FRAME.pack(len(ct), FINAL if final else 0))
        self._emit(ct)
        self.index += 1
        self.plain_bytes += len(plain)

    def write(self, pcm: bytes | memoryview) -> None:
        """Add audio; every full chunk is sealed and handed to the OS at once. (A chunk
        that ends exactly at the end of the audio is sealed non-final; :meth:`close` then
        adds an empty final chunk.)"""
        size = self._header.chunk_bytes
        view = memoryview(pcm).cast("B")
        if self._buffer:
            need = size - len(self._buffer)
            self._buffer += view[:need]
            view = view[need:]
            if len(self._buffer) < size:
                return
            self._seal(bytes(self._buffer), final=False)
            self._buffer.clear()
        while len(view) >= size:  # no copies: seal straight from the caller's buffer
            self._seal(view[:size], final=False)
            view = view[size:]
        self._buffer += view
        try:
            self._f.flush()
        except OSError as err:
            raise _disk_error(err) from err

    def close(self) -> str:
        """Seal the rest as the final chunk, fsync, and return the file's SHA-256 (hex)."""
        if not self.closed:
            self._seal(bytes(self._buffer), final=True)
            self._buffer.clear()
            try:
                self._f.flush()
                os.fsync(self._f.fileno())
            except OSError as err:
                raise _disk_error(err) from err
            self.closed = True
        return self._hash.hexdigest()


def _disk_error(err: OSError) -> RecordingError:
    import errno

    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return RecordingError("rec-disk-full", f"no space left for the recording: {err}")
    return RecordingError("rec-io", f"cannot write the recording: {err}")


@dataclass(frozen=True, slots=True)
class FrameInfo:
    offset: int
    length: int
    final: bool


def scan_frames(f: BinaryIO, sealed: SealedFile) -> tuple[list[FrameInfo], int]:
    """Walk chunk frames by their length fields (no decryption); returns the structurally
    complete frames up to and including a final one, and the offset where they end."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    frames: list[FrameInfo] = []
    pos = sealed.data_offset
    limit = sealed.header.chunk_bytes + TAG_BYTES
    while pos + FRAME.size <= end:
        f.seek(pos)
        length, flags = FRAME.unpack(f.read(FRAME.size))
        if length < TAG_BYTES or length > limit or pos + FRAME.size + length > end:
            break
        frames.append(FrameInfo(pos + FRAME.size, length, bool(flags & FINAL)))
        pos += FRAME.size + length
        if flags & FINAL:
            break
    return frames, pos


def plain_length(frames: list[FrameInfo]) -> int:
    return sum(fr.length - TAG_BYTES for fr in frames)


def open_chunks(f: BinaryIO, sealed: SealedFile, data_key: bytes, frames: list[FrameInfo],
                *, allow_incomplete: bool) -> Iterator[bytes]:
    """Decrypt and authenticate chunk by chunk; a chunk is yielded only once verified.

    Raises ``rec-auth-failed`` for any chunk that fails authentication (edited, moved,
    missing, wrong key) or anything after the final chunk, ``rec-incomplete`` at the end of
    a stream with no final chunk unless ``allow_incomplete``.
    """
    aes = AESGCM(data_key)
    prefix, digest = sealed.header.nonce_prefix, sealed.digest
    for index, frame in enumerate(frames):
        f.seek(frame.offset)
        ct = f.read(frame.length)
        try:
            plain = aes.decrypt(_nonce(prefix, index), ct, _aad(digest, index, frame.final))
        except InvalidTag as err:
            raise RecordingError("rec-auth-failed",
                                 f"chunk {index} failed authentication (edited, reordered, "
                                 "missing neighbour, or wrong key)") from err
        yield plain
    last_final = bool(frames) and frames[-1].final
    if last_final:
        f.seek(0, os.SEEK_END)
        end = frames[-1].offset + frames[-1].length
        if f.tell() != end:
            raise RecordingError("rec-auth-failed", "data after the final chunk")
    elif not allow_incomplete:
        raise RecordingError("rec-incomplete", "the recording has no final chunk (cut short); "
                             "export with --allow-incomplete to get its authenticated part")


def rewrite_slots(f: BinaryIO, sealed: SealedFile, slot: KeySlot) -> None:
    """Crash-safe re-wrap in place: never leaves the file without one valid slot.

    1. write the new slot over the *older* slot position, fsync (a torn write fails its
       checksum and readers keep using the current slot);
    2. write the same slot over the other position, fsync (the old wrap is gone; a torn
       write here leaves the step-1 copy, which wins by generation).
    Audio chunks are never touched.
    """
    current = sealed.best_slots()
    in_use = sealed.slots.index(current[0]) if current else 1
    first = 1 - in_use
    raw = slot.encode()
    for position in (first, 1 - first):
        f.seek(sealed.slot_offset + position * SLOT_SIZE)
        try:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        except OSError as err:
            raise _disk_error(err) from err


def file_sha256(f: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of a whole file."""
    f.seek(0)
    h = hashlib.sha256()
    size = 0
    while block := f.read(1 << 20):
        h.update(block)
        size += len(block)
    return h.hexdigest(), size


def wav_header(audio: AudioFormat, data_bytes: int) -> bytes:
    """A canonical 44-byte PCM WAV header for ``data_bytes`` of samples."""
    block = audio.channels * audio.sample_width
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, audio.channels, audio.sample_rate,
                          audio.sample_rate * block, block, audio.sample_width * 8)
            + b"data" + struct.pack("<I", data_bytes))
