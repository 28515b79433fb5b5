"""The sealed format on real files with real crypto: round trips and every tampering."""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
from pathlib import Path

import pytest

from ivr.recording.api import RecordingError
from ivr.recording.crypto import (
    PREFIX,
    SLOT_SIZE,
    AudioFormat,
    SealWriter,
    new_header,
    open_chunks,
    read_sealed,
    scan_frames,
)
from ivr.recording.files import open_reader, rewrap
from ivr.recording.keys import Keyring

from .helpers import frame_offsets, seal_file, speechlike


def decrypt(path: Path, ring: Keyring, *, allow_incomplete: bool = False) -> bytes:
    reader = open_reader(path, ring)
    try:
        return b"".join(open_chunks(reader.f, reader.sealed, reader.data_key, reader.frames,
                                    allow_incomplete=allow_incomplete))
    finally:
        reader.f.close()


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    ring = Keyring(tmp_path / "keys")
    ring.create("symmetric")
    return ring


@pytest.mark.parametrize("mode", ["symmetric", "asymmetric"])
def test_round_trip_in_both_modes(tmp_path: Path, mode: str) -> None:
    ring = Keyring(tmp_path / "keys")
    key = ring.create(mode)
    pcm = speechlike(3.3)
    path = tmp_path / "a.rec"
    seal_file(path, ring, pcm)
    assert decrypt(path, ring) == pcm
    assert pcm[:4000] not in path.read_bytes()  # nothing in the clear
    assert stat.S_IMODE((tmp_path / "keys" / f"{key.id}.key").stat().st_mode) == 0o600


def test_asymmetric_server_holds_only_the_public_key(tmp_path: Path) -> None:
    replay = Keyring(tmp_path / "replay")
    key = replay.create("asymmetric")
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    (server_dir / f"{key.id}.pub").write_bytes((replay.folder / f"{key.id}.pub").read_bytes())
    server = Keyring(server_dir)
    pcm = speechlike(1.0)
    path = tmp_path / "a.rec"
    seal_file(path, server, pcm)  # the server can record...
    with pytest.raises(RecordingError) as err:
        decrypt(path, server)  # ...but not replay
    assert err.value.code == "rec-no-key"
    assert decrypt(path, replay) == pcm


def test_a_flipped_byte_anywhere_in_the_audio_fails(tmp_path: Path, ring: Keyring) -> None:
    pcm = speechlike(2.0)
    path = tmp_path / "a.rec"
    seal_file(path, ring, pcm)
    start, end = frame_offsets(path)[1]
    data = bytearray(path.read_bytes())
    data[(start + end) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-auth-failed"


def _rewrite_frames(path: Path, order: list[int]) -> None:
    data = path.read_bytes()
    frames = frame_offsets(path)
    head = data[:frames[0][0]]
    path.write_bytes(head + b"".join(data[frames[i][0]:frames[i][1]] for i in order))


def test_reordered_chunks_fail(tmp_path: Path, ring: Keyring) -> None:
    path = tmp_path / "a.rec"
    seal_file(path, ring, speechlike(3.0))
    n = len(frame_offsets(path))
    _rewrite_frames(path, [1, 0, *range(2, n)])
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-auth-failed"


def test_a_missing_middle_chunk_fails(tmp_path: Path, ring: Keyring) -> None:
    path = tmp_path / "a.rec"
    seal_file(path, ring, speechlike(3.0))
    n = len(frame_offsets(path))
    _rewrite_frames(path, [0, *range(2, n)])
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring, allow_incomplete=True)
    assert err.value.code == "rec-auth-failed"


def test_truncation_is_detected_and_the_rest_stays_readable(tmp_path: Path,
                                                            ring: Keyring) -> None:
    pcm = speechlike(3.0)
    path = tmp_path / "a.rec"
    seal_file(path, ring, pcm, chunk=4096)
    frames = frame_offsets(path)
    data = path.read_bytes()
    path.write_bytes(data[:frames[3][1] + 7])  # three whole chunks (0-3) and a torn one
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-incomplete"
    assert decrypt(path, ring, allow_incomplete=True) == pcm[:4 * 4096]


def test_dropping_the_final_flag_chunk_is_truncation_not_success(tmp_path: Path,
                                                                 ring: Keyring) -> None:
    path = tmp_path / "a.rec"
    seal_file(path, ring, speechlike(2.0))
    frames = frame_offsets(path)
    path.write_bytes(path.read_bytes()[:frames[-1][0]])
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-incomplete"
    # Flagging the last remaining chunk "final" by hand is caught by authentication.
    data = bytearray(path.read_bytes())
    data[frames[-2][0] + 4] = 1
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-auth-failed"


def test_a_future_header_version_is_refused_clearly(tmp_path: Path, ring: Keyring) -> None:
    path = tmp_path / "a.rec"
    seal_file(path, ring, speechlike(0.5))
    data = bytearray(path.read_bytes())
    struct.pack_into(">H", data, 8, 2)
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-future-version"
    path.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-bad-header"


def test_an_edited_header_fails_authentication(tmp_path: Path, ring: Keyring) -> None:
    path = tmp_path / "a.rec"
    seal_file(path, ring, speechlike(0.5))
    data = path.read_bytes()
    # Same length, different sample rate: the wrapped key and every chunk are bound to it.
    edited = data.replace(b'"sample_rate":8000', b'"sample_rate":9000', 1)
    assert edited != data
    path.write_bytes(edited)
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-auth-failed"


def test_wrong_key_material_under_the_right_id_fails(tmp_path: Path, ring: Keyring) -> None:
    path = tmp_path / "a.rec"
    seal_file(path, ring, speechlike(0.5))
    key = ring.current()
    text = key.path.read_text()
    assert key.secret is not None
    key.path.write_text(text.replace(key.secret.hex(), os.urandom(32).hex()))
    with pytest.raises(RecordingError) as err:
        decrypt(path, Keyring(ring.folder))
    assert err.value.code == "rec-auth-failed"


def test_retired_keys_read_but_never_wrap_and_destroyed_ones_say_so(tmp_path: Path,
                                                                   ring: Keyring) -> None:
    path = tmp_path / "a.rec"
    pcm = speechlike(0.5)
    seal_file(path, ring, pcm)
    old = ring.current()
    ring.retire(old.id)
    assert decrypt(path, ring) == pcm
    with pytest.raises(RecordingError) as err:
        ring.current()
    assert err.value.code == "rec-no-key"
    ring.destroy(old.id)
    assert not (ring.folder / f"{old.id}.key").exists()
    with pytest.raises(RecordingError) as err:
        decrypt(path, ring)
    assert err.value.code == "rec-key-retired"


def test_rotation_rewrites_only_the_key_slots(tmp_path: Path, ring: Keyring) -> None:
    pcm = speechlike(2.0)
    path = tmp_path / "a.rec"
    seal_file(path, ring, pcm)
    before = path.read_bytes()
    old = ring.current()
    new = ring.create("asymmetric")
    rewrap(path, ring, new)
    after = path.read_bytes()
    with path.open("rb") as f:
        sealed = read_sealed(f)
    assert len(after) == len(before)
    assert after[sealed.data_offset:] == before[sealed.data_offset:]  # audio untouched
    assert {s.key_id for s in sealed.slots if s} == {new.id}  # the old wrap is gone
    ring.retire(old.id)
    ring.destroy(old.id)
    assert decrypt(path, ring) == pcm


def test_a_torn_slot_write_during_rotation_keeps_the_recording_readable(
        tmp_path: Path, ring: Keyring) -> None:
    pcm = speechlike(1.0)
    path = tmp_path / "a.rec"
    seal_file(path, ring, pcm)
    with path.open("rb") as f:
        sealed = read_sealed(f)
    # A crash in the middle of writing either slot: half of it is garbage.
    for position in (0, 1):
        data = bytearray(path.read_bytes())
        start = sealed.slot_offset + position * SLOT_SIZE
        data[start:start + SLOT_SIZE // 2] = os.urandom(SLOT_SIZE // 2)
        torn = tmp_path / f"torn{position}.rec"
        torn.write_bytes(bytes(data))
        assert decrypt(torn, ring) == pcm


class _FullDisk(io.BytesIO):
    """A file on a disk that fills up after ``room`` bytes (ENOSPC, as write(2) says)."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "no descriptor")


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_written(ring: Keyring) -> None:
    pcm = speechlike(2.0)
    header = new_header("r" * 32, "c" * 32, "now", AudioFormat(), 4096)
    key = os.urandom(32)
    disk = _FullDisk(PREFIX.size + 2000 + 3 * (4096 + 21))
    writer = SealWriter(disk, header, ring.wrap(key, header.digest()), key)
    with pytest.raises(RecordingError) as err:
        writer.write(pcm)
    assert err.value.code == "rec-disk-full"
    sealed = read_sealed(disk)
    frames, _ = scan_frames(disk, sealed)
    got = b"".join(open_chunks(disk, sealed, key, frames, allow_incomplete=True))
    assert len(frames) >= 2 and got == pcm[:len(frames) * 4096]
