"""The frame-fed writer streaming transports use: sealed as it arrives, paused for secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr.recording.capture import FrameRecording
from ivr.recording.keys import Keyring
from ivr.recording.store import RecordingStore
from ivr.store.db import make_engine, upgrade

from .helpers import speechlike, wav_samples


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def event(self, kind: str, node: str | None = None, **data: Any) -> None:
        self.seen.append((kind, data))


async def test_frames_are_sealed_and_a_pause_becomes_silence(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}"
    upgrade(url)
    engine = make_engine(url)
    ring = Keyring(tmp_path / "keys")
    ring.create()
    store = RecordingStore(engine, ring, tmp_path / "recordings", chunk_bytes=4096)
    clock = [0.0]
    await store.ensure_call("s1", transport="webrtc")
    rec = FrameRecording(store, "s1", Events(), clock=lambda: clock[0])
    await rec.start()
    before, after = speechlike(1.0, seed=1), speechlike(0.5, seed=2)
    for i in range(0, len(before), 320):  # 20 ms frames
        await rec.write(before[i:i + 320])
    async with rec.paused("pin"):
        await rec.write(b"\x11" * 3200)  # the caller keying a secret: dropped
        clock[0] += 0.25
    await rec.write(after)
    await rec.finish()
    assert rec.recording_id is None  # finished
    [info] = await store.list()
    out = tmp_path / "out.wav"
    with out.open("wb") as f:
        async for block in store.open_wav(info.id, actor="t", channel="t", reason="t"):
            f.write(block)
    assert wav_samples(out)[1] == before + bytes(2000 * 2) + after
    assert [m["node"] for m in await store.markers(info.id)] == ["pin"]
    await engine.dispose()


async def test_no_key_means_no_recording_and_an_alert(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}"
    upgrade(url)
    engine = make_engine(url)
    store = RecordingStore(engine, Keyring(tmp_path / "keys"), tmp_path / "recordings")
    events = Events()
    rec = FrameRecording(store, "s2", events)
    await rec.start()
    await rec.write(speechlike(0.1))
    await rec.finish()
    assert [k for k, _ in events.seen] == ["alert"] and events.seen[0][1]["code"] == "rec-no-key"
    assert not (tmp_path / "recordings").exists() or not list((tmp_path / "recordings").iterdir())
    await engine.dispose()
