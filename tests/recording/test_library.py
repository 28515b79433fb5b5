"""The recording store on SQLite and PostgreSQL: import, list, audited export, crashes,
rotation, retention and legal holds."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from ivr.audit import AuditLog
from ivr.recording.api import RecordingError, RecordingLibrary
from ivr.recording.crypto import AudioFormat
from ivr.recording.keys import Keyring
from ivr.recording.retention import Retention
from ivr.recording.settings import RetentionSettings
from ivr.recording.store import RecordingStore
from ivr.store.db import make_engine
from ivr.store.models import RecordingRow
from ivr.store.writer import CallRecorder, EventWriter

from .helpers import frame_offsets, speechlike, wav_samples, write_wav


@pytest.fixture
async def store(db_url: str, tmp_path: Path) -> AsyncIterator[RecordingStore]:
    engine = make_engine(db_url)
    ring = Keyring(tmp_path / "var" / "keys")
    ring.create("symmetric")
    try:
        yield RecordingStore(engine, ring, tmp_path / "recordings", chunk_bytes=4096)
    finally:
        await engine.dispose()


async def export(store: RecordingLibrary, rid: str, path: Path, **kw: object) -> None:
    with path.open("wb") as f:
        async for block in store.open_wav(rid, actor="cli:test", channel="cli",
                                          reason="test", **kw):  # type: ignore[arg-type]
            f.write(block)


@pytest.mark.parametrize("rate,channels,width", [(8000, 1, 2), (16000, 2, 2), (8000, 1, 1)])
async def test_imported_wav_exports_sample_for_sample(store: RecordingStore, tmp_path: Path,
                                                      rate: int, channels: int,
                                                      width: int) -> None:
    pcm = speechlike(2.5, rate)[: int(2.5 * rate) * channels * width]
    src = tmp_path / "in.wav"
    write_wav(src, pcm, rate, channels, width, extra_chunk=True)
    info = await store.import_wav(src, "imp-1", actor="cli:test")
    assert info.complete and info.call_id == "imp-1" and info.sha256 and info.size > len(pcm)
    assert info.duration == pytest.approx(len(pcm) / (rate * channels * width), abs=0.001)
    out = tmp_path / "out.wav"
    await export(store, info.id, out)
    assert wav_samples(out) == ((rate, channels, width), pcm)
    # The store holds no plaintext.
    assert pcm[1000:3000] not in (tmp_path / "recordings" / f"{info.id}.rec").read_bytes()


async def test_list_filters_and_placeholder_calls(store: RecordingStore, tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, speechlike(0.5))
    writer = EventWriter(store.engine, flush_seconds=0.01)
    CallRecorder(writer, "call-a").start(transport="agi", route="hotline", caller="+15551230001")
    assert await writer.flush()
    a = await store.import_wav(src, "call-a", actor="cli:test")
    b = await store.import_wav(src, "never-seen", actor="cli:test")
    assert [r.id for r in await store.list(caller="0001")] == [a.id]
    assert {r.id for r in await store.list()} == {a.id, b.id}
    assert [r.id for r in await store.list(call_id="never-seen")] == [b.id]
    assert await store.list(since=datetime.now(UTC) + timedelta(hours=1)) == []
    from ivr.store.repo import CallQueries

    placeholder = await CallQueries(store.engine).get("never-seen")
    assert placeholder is not None and placeholder.transport == "import"


async def test_every_decryption_is_audited_with_its_result(store: RecordingStore,
                                                          tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, speechlike(1.0))
    info = await store.import_wav(src, "c1", actor="cli:test")
    await export(store, info.id, tmp_path / "ok.wav")
    path = tmp_path / "recordings" / f"{info.id}.rec"
    start, end = frame_offsets(path)[0]
    data = bytearray(path.read_bytes())
    data[end - 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as err:
        await export(store, info.id, tmp_path / "bad.wav")
    assert err.value.code == "rec-auth-failed"
    rows = await AuditLog(store.engine).list(subject=info.id, action="recording.decrypt")
    assert [r.outcome for r in rows][::-1] == ["started", "success", "started", "failed"]
    assert all(r.actor == "cli:test" and r.reason == "test" and r.channel == "cli" for r in rows)
    assert rows[0].details["code"] == "rec-auth-failed"


async def test_a_recording_cut_short_is_marked_incomplete_and_keeps_its_chunks(
        store: RecordingStore, tmp_path: Path) -> None:
    pcm = speechlike(2.0)
    await store.ensure_call("crash-1")
    active = await store.begin("crash-1", AudioFormat(), source="stream")
    await store.write(active, pcm)
    active.file.abandon()  # the process died here: no final chunk, lock released
    part = tmp_path / "recordings" / f"{active.id}.rec.part"
    with part.open("ab") as f:
        f.write(b"\x00\x00\x10")  # a torn frame header at the end
    assert await store.recover() == [active.id]
    info = await store.get(active.id)
    assert info is not None and not info.complete
    with pytest.raises(RecordingError) as err:
        await export(store, active.id, tmp_path / "x.wav")
    assert err.value.code == "rec-incomplete"
    await export(store, active.id, tmp_path / "x.wav", allow_incomplete=True)
    whole = len(pcm) // 4096 * 4096
    assert wav_samples(tmp_path / "x.wav")[1] == pcm[:whole]
    assert info.duration == pytest.approx(whole / 16000)


async def test_a_live_writer_is_not_recovered(store: RecordingStore) -> None:
    await store.ensure_call("live-1")
    active = await store.begin("live-1", AudioFormat(), source="stream")
    await store.write(active, speechlike(1.0))
    assert await store.recover() == []
    info = await store.finish(active)
    assert info.complete


async def test_rotation_updates_rows_and_keeps_audio(store: RecordingStore,
                                                     tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    pcm = speechlike(1.0)
    write_wav(src, pcm)
    info = await store.import_wav(src, "rot", actor="cli:test")
    new = store.keyring.create("symmetric")
    done, failed = await store.rewrap_all(new)
    assert (done, failed) == (1, [])
    after = await store.get(info.id)
    assert after is not None and after.key_id == new.id and after.sha256 != info.sha256
    store.keyring.retire(info.key_id)
    store.keyring.destroy(info.key_id)
    await export(store, info.id, tmp_path / "out.wav")
    assert wav_samples(tmp_path / "out.wav")[1] == pcm


async def test_missing_key_fails_before_the_first_byte(store: RecordingStore,
                                                       tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, speechlike(0.3))
    info = await store.import_wav(src, "nokey", actor="cli:test")
    for f in store.keyring.folder.iterdir():
        f.unlink()
    stream = store.open_wav(info.id, actor="cli:test", channel="cli", reason="r")
    with pytest.raises(RecordingError) as err:
        await stream.__anext__()
    assert err.value.code == "rec-no-key"
    with pytest.raises(RecordingError) as err:
        await store.import_wav(src, "nokey", actor="cli:test")
    assert err.value.code == "rec-no-key"
    assert len(await store.list(call_id="nokey")) == 1  # nothing written without a key
    assert not list((tmp_path / "recordings").glob("*.part"))


async def test_retention_purges_by_kind_and_respects_legal_holds(store: RecordingStore,
                                                                 tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, speechlike(0.2))
    writer = EventWriter(store.engine, flush_seconds=0.01)
    for call_id in ("old-1", "old-2", "new-1"):
        log = CallRecorder(writer, call_id)
        log.start(transport="agi", route="hotline")
        log.event("node_entered", node="welcome")
    assert await writer.flush()
    recs = {c: await store.import_wav(src, c, actor="cli:test") for c in ("old-1", "old-2",
                                                                          "new-1")}
    long_ago = datetime.now(UTC) - timedelta(days=100)
    from ivr.store.models import CallRow

    async with store.engine.begin() as conn:
        for c in ("old-1", "old-2"):
            await conn.execute(update(RecordingRow).where(RecordingRow.call_id == c)
                               .values(created_at=long_ago))
            await conn.execute(update(CallRow).where(CallRow.id == c)
                               .values(started_at=long_ago))
    policy = RetentionSettings(recordings_days=30, events_days=60, transcripts_days=60)
    retention = Retention(store.engine, store, policy)
    await retention.hold("old-2", actor="cli:test", reason="dispute 42")
    dry = await retention.purge(apply=False, actor="cli:test")
    assert dry.recordings == [recs["old-1"].id] and dry.events == 1 and not dry.applied
    assert await store.get(recs["old-1"].id) is not None  # a dry run changes nothing
    done = await retention.purge(apply=True, actor="cli:test")
    assert done.recordings == [recs["old-1"].id]
    assert await store.get(recs["old-1"].id) is None
    assert not (tmp_path / "recordings" / f"{recs['old-1'].id}.rec").exists()
    assert await store.get(recs["old-2"].id) is not None  # held
    assert await retention.release("old-2", actor="cli:test", reason="closed")
    again = await retention.purge(apply=True, actor="cli:test")
    assert again.recordings == [recs["old-2"].id]
    assert await store.get(recs["new-1"].id) is not None
    actions = [e.action for e in await AuditLog(store.engine).list(limit=200)]
    assert {"legal.hold", "legal.release", "retention.purge"} <= set(actions)
    assert os.path.exists(tmp_path / "recordings" / f"{recs['new-1'].id}.rec")
