"""No plaintext call audio outlives the server: what a stopped or crashed Hotline leaves in
the recording spool is sealed, what cannot be sealed is an alert, and the spool is private."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.config import Settings
from ivr.store.models import RecordingRow
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings

from .helpers import PLAN, speechlike, write_wav

CALLER = "+15551234567"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spoolplans")
    (folder / "rec.yaml").write_text(PLAN)
    return folder


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spoolsounds")


def settings_for(data: Path, sounds: Path, plans: Path, *, store: dict[str, Any] | None = None,
                 **recording: Any) -> Settings:
    """Recording on, as by default; the sealer scans once at start and then only when a
    test (or the drain) asks, so what a scan does is what the test sees."""
    return server_settings(data, sounds, plans, store=store or {},
                           recording={"enabled": True, "scan_seconds": 3600, **recording})


async def swept(app: Hotline) -> None:
    """Wait for the start-up sweep, so that what a test's own scan does is what it sees."""
    async with asyncio.timeout(10):
        await app.recording.sealer.swept.wait()


async def recorded_call(app: Hotline) -> tuple[PeerResult, str]:
    assert app.agi_address is not None
    result = await run_call(*app.agi_address, script="rec",
                            script_actions=CallerScript.of("4711"),
                            sounds_root=app.settings.sounds_dir, mixmonitor=True,
                            idle_timeout=10)
    assert result.variables.get("IVR_OUTCOME") == "self_served"
    assert len(result.recorded) == 2  # segment 1, paused for the PIN, segment 2
    return result, result.recorded[0].stem.rsplit("-", 1)[0]


def plaintext(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.iterdir()) if spool.exists() else []


async def alerts(app: Hotline, call_id: str) -> list[str]:
    assert await app.writer.wait_idle(5)
    return [e.data["code"] for e in await app.calls.events(call_id) if e.kind == "alert"]


def errors_counted(app: Hotline, code: str) -> float:
    return app.metrics.registry.get_sample_value("ivr_errors_total", {"code": code}) or 0.0


async def status_of(app: Hotline, recording_id: str) -> str:
    from sqlalchemy import select

    async with app.engine.connect() as conn:
        return str((await conn.execute(select(RecordingRow.status)
                                       .where(RecordingRow.id == recording_id))).scalar())


async def sealed_soon(app: Hotline, call_id: str, timeout: float = 10.0) -> None:
    spool = app.settings.spool_dir
    async with asyncio.timeout(timeout):
        while any(name.startswith(call_id) for name in plaintext(spool)) \
                or not await app.recordings.list(call_id=call_id):
            await asyncio.sleep(0.1)


# Item 3 ---------------------------------------------------------------------------------------
async def test_a_call_whose_row_never_reached_the_database_is_sealed_and_listed_after_restart(
        db_url: str, tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir, store={"url": db_url})
    # A server whose database takes nothing (its writer never runs) answers a call and dies.
    first = Hotline(settings)
    try:
        await first.start()
        _result, call_id = await recorded_call(first)
    finally:
        await first.agi.drain(1)
        await first.close()
    left = plaintext(settings.spool_dir)
    assert f"{call_id}.json" in left and f"{call_id}-1.wav" in left
    assert await first.calls.get(call_id) is None

    second = Hotline(settings)
    async with second.running():
        await sealed_soon(second, call_id)
        call = await second.calls.get(call_id)
        assert call is not None and call.caller == CALLER and call.route == "rec"
        assert call.transport == "agi" and call.ended_at is not None
        assert [c.id for c in await second.calls.recent()] == [call_id]  # `ivr calls list`
        [info] = await second.recordings.list(caller="4567")
        assert info.complete and info.duration > 1.0
        assert await alerts(second, call_id) == ["rec-call-row-lost"]
        assert errors_counted(second, "rec-call-row-lost") == 1


async def test_segments_left_by_a_server_that_died_mid_call_are_sealed_at_start(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir)
    settings.spool_dir.mkdir(parents=True)
    call_id = "c0ffee00c0ffee00c0ffee00c0ffee00"
    write_wav(settings.spool_dir / f"{call_id}-1.wav", speechlike(1.5))  # no manifest, no row
    app = Hotline(settings)
    async with app.running():
        await sealed_soon(app, call_id)  # at once, not after an hour
        [info] = await app.recordings.list(call_id=call_id)
        assert not info.complete and info.duration == pytest.approx(1.5)
        call = await app.calls.get(call_id)
        assert call is not None and call.transport == "agi"
        assert "rec-call-row-lost" in await alerts(app, call_id)


async def test_stopping_the_server_seals_the_calls_that_just_ended(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir)
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        _result, call_id = await recorded_call(app)
        assert plaintext(settings.spool_dir)  # the call ended just now: not sealed yet
    assert plaintext(settings.spool_dir) == []
    [info] = await app.recordings.list(call_id=call_id)
    assert info.complete and info.caller == CALLER and info.duration > 1.0
    await app.engine.dispose()


async def test_a_live_call_is_never_sealed_early_and_is_sealed_once_it_ends(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir, orphan_seconds=0)
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        sealer = app.recording.sealer
        call_id = "1ive0000c0ffee00c0ffee00c0ffee00"
        sealer.track(call_id)  # as the server does for a FastAGI call it is answering
        settings.spool_dir.mkdir(parents=True, exist_ok=True)
        write_wav(settings.spool_dir / f"{call_id}-1.wav", speechlike(1.0))
        assert await sealer.scan_once(force=True) == []
        assert plaintext(settings.spool_dir) == [f"{call_id}-1.wav"]
        sealer.release(call_id)  # ended without a manifest (say the spool was full)
        assert len(await sealer.scan_once()) == 1
        assert plaintext(settings.spool_dir) == []


async def test_the_spool_is_readable_by_its_owner_only(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir, settle_seconds=3600)
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        await recorded_call(app)
        assert await app.recording.sealer.scan_once() == []  # not settled: kept for now
        spool = settings.spool_dir
        assert stat.S_IMODE(spool.stat().st_mode) == 0o700
        files = list(spool.iterdir())
        assert len(files) == 3  # two segments and the manifest
        assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}


async def test_a_segment_that_cannot_be_sealed_is_an_alert(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir)
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        _result, call_id = await recorded_call(app)
        (settings.spool_dir / f"{call_id}-2.wav").write_bytes(b"RIFF garbage, not audio")
        assert await app.writer.wait_idle(5)
        [rid] = await app.recording.sealer.scan_once(force=True)
        assert plaintext(settings.spool_dir) == []
        info = await app.recordings.get(rid)
        assert info is not None and not info.complete and info.duration > 1.0
        assert await alerts(app, call_id) == ["rec-segment-unreadable"]
        assert errors_counted(app, "rec-segment-unreadable") == 1
        markers = await app.recordings.markers(rid)
        assert [m["kind"] for m in markers] == ["paused", "rec-segment-unreadable"]


async def test_a_seal_that_keeps_failing_is_alerted_once_and_the_audio_kept(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir)
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        _result, call_id = await recorded_call(app)
        assert await app.writer.wait_idle(5)
        store = settings.recordings_dir
        store.rmdir()
        store.write_bytes(b"")  # the store cannot write (say its disk is gone)
        try:
            for _ in range(3):
                assert await app.recording.sealer.scan_once(force=True) == []
            assert len(plaintext(settings.spool_dir)) == 3  # kept for the next try
        finally:
            store.unlink()
            store.mkdir()
        assert await alerts(app, call_id) == ["rec-seal-failed"]
        assert errors_counted(app, "rec-seal-failed") == 1
        assert len(await app.recording.sealer.scan_once(force=True)) == 1  # and it recovers
        assert plaintext(settings.spool_dir) == []


# Item 14 --------------------------------------------------------------------------------------
async def test_a_segment_that_never_appeared_is_a_missing_recording_with_an_alert(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir)
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        result, call_id = await recorded_call(app)
        for path in result.recorded:  # Asterisk wrote nothing where we told it to
            path.unlink()
        assert await app.writer.wait_idle(5)
        [rid] = await app.recording.sealer.scan_once(force=True)
        info = await app.recordings.get(rid)
        assert info is not None and not info.complete and info.duration == pytest.approx(
            0.0, abs=10.0)  # the paused gap's silence at most
        assert await status_of(app, rid) == "missing"
        assert await alerts(app, call_id) == ["rec-segment-missing", "rec-segment-missing"]
        assert errors_counted(app, "rec-segment-missing") == 2
        assert plaintext(settings.spool_dir) == []


def test_orphans_wait_a_minute_at_most_by_default() -> None:
    from ivr.recording.settings import RecordingSettings

    assert RecordingSettings().orphan_seconds <= 60


# Review fx1 -----------------------------------------------------------------------------------
async def test_a_call_row_rebuilt_from_a_hostile_manifest_is_cleaned_and_the_audio_sealed(
        db_url: str, tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    from ivr.recording.capture import Manifest

    settings = settings_for(tmp_path, sounds, plan_dir, store={"url": db_url})
    spool = settings.spool_dir
    spool.mkdir(parents=True)
    call_id = "bad0c0de" * 4
    write_wav(spool / f"{call_id}-1.wav", speechlike(1.0))
    Manifest(call_id, "bad0feed" * 4, segments=[f"{call_id}-1.wav"],
             call={"caller": "+1555\x00123\x1b[2J", "caller_name": "Eve\x00" + "x" * 200,
                   "route": "rec\n", "dialed": "\ud800100"}).write(spool)
    app = Hotline(settings)
    async with app.running():  # PostgreSQL refuses NUL: the row and the seal used to fail
        await sealed_soon(app, call_id)
        call = await app.calls.get(call_id)
        assert call is not None
        assert call.caller == "+1555\ufffd123\ufffd[2J" and call.route == "rec\ufffd"
        assert call.caller_name is not None and len(call.caller_name) == 128
        assert call.dialed == "\ufffd100"
        [info] = await app.recordings.list(call_id=call_id)
        assert info.complete
        assert plaintext(spool) == []


async def test_a_call_that_ends_during_a_scan_is_sealed_once_and_complete(
        tmp_path: Path, sounds: Path, plan_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ivr.recording.capture import Manifest

    settings = settings_for(tmp_path, sounds, plan_dir, orphan_seconds=0)
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        sealer = app.recording.sealer
        spool = settings.spool_dir
        call_id = "e0dd0000c0ffee00c0ffee00c0ffee00"
        sealer.track(call_id)
        spool.mkdir(parents=True, exist_ok=True)
        write_wav(spool / f"{call_id}-1.wav", speechlike(1.0))
        listing = sealer._listing

        def call_ends_right_after_the_listing() -> Any:
            seen = listing()
            Manifest(call_id, "e0dd0001" * 4, segments=[f"{call_id}-1.wav"],
                     call={"route": "rec"}).write(spool)
            sealer.release(call_id)
            return seen

        monkeypatch.setattr(sealer, "_listing", call_ends_right_after_the_listing)
        await sealer.scan_once(force=True)
        monkeypatch.undo()
        await sealer.scan_once(force=True)
        [info] = await app.recordings.list(call_id=call_id)  # once, not an orphan + "missing"
        assert info.complete and info.duration == pytest.approx(1.0)
        assert plaintext(spool) == []


async def test_stray_files_in_the_spool_make_no_call_and_are_set_aside_with_an_alert(
        db_url: str, tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds, plan_dir, store={"url": db_url})
    spool = settings.spool_dir
    spool.mkdir(parents=True)
    (spool / "notes.json").write_text("{not json")  # a call id's shape, but no manifest
    (spool / f"{'x' * 70}.json").write_text("{}")  # too long for a call id
    write_wav(spool / "copy of call-1.wav", speechlike(0.5))  # a segment named like no call
    app = Hotline(settings)
    async with app.running():
        await swept(app)
        assert await app.recording.sealer.scan_once(force=True) == []
        assert plaintext(spool) == ["quarantine"]
        aside = sorted(p.name for p in (spool / "quarantine").iterdir())
        assert aside == ["copy of call-1.wav", "notes.json", f"{'x' * 70}.json"]
        assert {stat.S_IMODE(p.stat().st_mode) for p in (spool / "quarantine").iterdir()} \
            == {0o600}
        assert await app.calls.recent() == []  # no call that never was
        assert errors_counted(app, "rec-manifest-unreadable") == 1
        assert errors_counted(app, "rec-spool-stray") == 2
        assert errors_counted(app, "rec-seal-failed") == 0


async def test_a_manifest_naming_files_outside_its_call_never_reads_or_removes_them(
        tmp_path: Path, sounds: Path, plan_dir: Path) -> None:
    from ivr.recording.capture import Manifest

    settings = settings_for(tmp_path, sounds, plan_dir)
    spool = settings.spool_dir
    spool.mkdir(parents=True)
    outside = tmp_path / "precious.wav"
    write_wav(outside, speechlike(1.0))
    other = "0ther0ca11" * 3
    write_wav(spool / f"{other}-1.wav", speechlike(1.0))
    call_id = "c0ffee00" * 4
    write_wav(spool / f"{call_id}-1.wav", speechlike(1.0))
    Manifest(call_id, "feedc0de" * 4,
             segments=[f"{call_id}-1.wav", os.path.relpath(outside, spool),
                       f"{other}-1.wav"]).write(spool)
    app = Hotline(settings)
    async with app.running():
        await sealed_soon(app, call_id)
        [info] = await app.recordings.list(call_id=call_id)
        assert info.duration == pytest.approx(1.0, abs=0.2)  # its own segment only
    assert outside.exists()
