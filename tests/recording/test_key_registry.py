"""Issue 19 item 1: recordings across instances sharing one database. The key folder is
shared (never the database: it lists key ids and fingerprints only); a server that lacks the
others' keys says so, and one with no key at all creates none of its own. A recording whose
file another instance keeps says which instance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.recording.api import RecordingError
from ivr.recording.keys import Keyring
from ivr.recording.settings import RecordingPaths, RecordingSettings
from ivr.recording.store import RecordingStore
from ivr.recording.wiring import RecordingService
from ivr.store.db import make_engine
from ivr.store.models import RecordingKeyRow
from ivr.store.writer import EventWriter

from .helpers import speechlike, write_wav


def service(engine: object, root: Path, name: str, counted: list[str]) -> RecordingService:
    paths = RecordingPaths(keys_dir=root / name / "keys", recordings_dir=root / name / "rec",
                           spool_dir=root / name / "spool",
                           asterisk_spool_dir=str(root / name / "spool"))
    return RecordingService(RecordingSettings(), paths, engine,  # type: ignore[arg-type]
                            EventWriter(engine), counted.append,  # type: ignore[arg-type]
                            instance_id=name, drain_seconds=1.0)


async def test_instances_share_the_key_folder_and_the_database_tells_when_they_do_not(
        db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    counted: list[str] = []
    try:
        a = service(engine, tmp_path, "a", counted)
        notes = await a.share_keys("a")
        assert len(notes) == 1 and notes[0].startswith("created recording key")
        (key,) = a.keyring.all()
        async with engine.connect() as conn:
            rows = (await conn.execute(select(RecordingKeyRow))).all()
        assert [(r.id, r.registered_by) for r in rows] == [(key.id, "a")]
        secret = (a.paths.keys_dir / f"{key.id}.key").read_text()
        assert key.secret is not None and key.secret.hex() not in str(rows)

        # b starts with an empty key folder: it records nothing rather than split the keys.
        b = service(engine, tmp_path, "b", counted)
        (notes,) = [await b.share_keys("b")]
        assert notes and "rec-key-not-shared" in notes[0] and key.id in notes[0]
        assert b.keyring.all() == [] and counted == ["rec-key-not-shared"]

        # The folder shared (copied here): nothing to say, recordings open on both.
        shutil.copytree(a.paths.keys_dir, b.paths.keys_dir, dirs_exist_ok=True)
        assert await b.share_keys("b") == []

        # A rotation on a, never copied to b: b says which key it lacks.
        newer = a.keyring.create()
        assert await a.share_keys("a") == []
        notes = await b.share_keys("b")
        assert len(notes) == 1 and "rec-key-not-here" in notes[0] and newer.id in notes[0]

        # Same id, other material: the folders diverged.
        c = service(engine, tmp_path, "c", counted)
        c.paths.keys_dir.mkdir(parents=True)
        forged = json.loads(secret)
        forged["secret"] = "00" * 32
        (c.paths.keys_dir / f"{key.id}.key").write_text(json.dumps(forged))
        shutil.copy(a.paths.keys_dir / f"{newer.id}.key", c.paths.keys_dir)
        notes = await c.share_keys("c")
        assert len(notes) == 1 and "rec-key-mismatch" in notes[0] and key.id in notes[0]
        assert counted[-1] == "rec-key-mismatch"
    finally:
        await engine.dispose()


async def test_a_recording_whose_file_another_instance_keeps_says_where_it_is(
        db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        keys = Keyring(tmp_path / "shared-keys")
        keys.create()
        a = RecordingStore(engine, keys, tmp_path / "a-recordings", instance_id="a")
        b = RecordingStore(engine, keys, tmp_path / "b-recordings", instance_id="b")
        src = tmp_path / "in.wav"
        write_wav(src, speechlike(1.0))
        info = await a.import_wav(src, "call-on-a", actor="cli:test")
        with pytest.raises(RecordingError) as err:
            async for _ in b.open_wav(info.id, actor="cli:test", channel="cli", reason="t"):
                pass
        assert err.value.code == "rec-not-here" and "instance a" in err.value.message
        # One recordings folder for both: b replays it.
        shared = RecordingStore(engine, keys, tmp_path / "a-recordings", instance_id="b")
        audio = b"".join([block async for block in shared.open_wav(
            info.id, actor="cli:test", channel="cli", reason="t")])
        assert len(audio) > 8000
    finally:
        await engine.dispose()
