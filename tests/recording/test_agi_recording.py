"""A call over FastAGI recorded by (simulated) MixMonitor, paused for a secret PIN, sealed
from the spool, exported and compared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ivr.app import Hotline
from ivr.config import load_settings
from ivr.datadir import prepare
from ivr.recording.keys import Keyring
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.mixmonitor import dtmf_tone

from .helpers import PLAN, wav_samples


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recplans")
    (folder / "rec.yaml").write_text(PLAN)
    return folder


def settings_for(tmp_path: Path, plan_dir: Path, **recording: Any) -> Any:
    settings = load_settings(tmp_path, {
        "agi": {"bind": "127.0.0.1:0", "hangup_grace": 0.3},
        "http": {"bind": "127.0.0.1:0"},
        "dialplans": {"dir": str(plan_dir)},
        "store": {"flush_seconds": 0.01},
        "recording": {"settle_seconds": 0.0, "scan_seconds": 3600, **recording},
        "drain_seconds": 2.0,
    })
    prepare(settings)
    return settings


@pytest.fixture
async def hotline(tmp_path: Path, plan_dir: Path) -> AsyncIterator[Hotline]:
    app = Hotline(settings_for(tmp_path, plan_dir))
    async with app.running():
        await app.recording.sealer.swept.wait()  # the start-up sweep is not the test's scan
        yield app


def _contains(haystack: np.ndarray, needle: np.ndarray) -> bool:
    """Exact sample run search (the peer writes tones bit-exactly)."""
    if needle.size > haystack.size:
        return False
    windows = np.lib.stride_tricks.sliding_window_view(haystack, needle.size)
    return bool(np.any(np.all(windows[:, :64] == needle[:64], axis=1)))


async def test_a_recorded_call_is_sealed_paused_for_the_pin_and_exports_exactly(
        hotline: Hotline, tmp_path: Path) -> None:
    assert hotline.agi_address is not None
    host, port = hotline.agi_address
    result = await run_call(host, port, script="rec", script_actions=CallerScript.of("4711"),
                            sounds_root=hotline.settings.sounds_dir, mixmonitor=True,
                            idle_timeout=10)
    spool = hotline.settings.spool_dir
    mix = [c for c in result.commands if "MixMonitor" in c]
    assert mix == [f"EXEC MixMonitor {spool}/{_call_id(hotline, result)}-1.wav",
                   "EXEC StopMixMonitor",
                   f"EXEC MixMonitor {spool}/{_call_id(hotline, result)}-2.wav",
                   "EXEC StopMixMonitor"]
    # Both segments exist in the spool as plaintext until the sealer runs.
    segments = [bytes(wav_samples(p)[1]) for p in result.recorded]
    assert len(segments) == 2 and all(segments)
    assert await hotline.writer.wait_idle(5)
    sealed = await hotline.recording.sealer.scan_once(force=True)
    assert len(sealed) == 1
    assert not list(spool.iterdir())  # plaintext removed
    info = await hotline.recordings.get(sealed[0])
    assert info is not None and info.complete and info.caller == "+15551234567"
    out = tmp_path / "out.wav"
    with out.open("wb") as f:
        async for block in hotline.recordings.open_wav(info.id, actor="cli:test", channel="cli",
                                                       reason="qa"):
            f.write(block)
    fmt, pcm = wav_samples(out)
    assert fmt == (8000, 1, 2)
    markers = await hotline.recordings.markers(info.id)
    assert [m["node"] for m in markers] == ["pin"] and markers[0]["kind"] == "paused"
    gap = int(round(markers[0]["seconds"] * 8000)) * 2
    # Exactly: segment 1, silence for the paused time, segment 2.
    assert pcm == segments[0] + bytes(gap) + segments[1]
    # The PIN's key tones never reached the recording, the prompts did.
    samples = np.frombuffer(pcm, "<i2")
    for key in "4711":
        assert not _contains(samples, np.frombuffer(dtmf_tone(key), "<i2")[:400])
    assert len(segments[0]) > 8000  # the welcome prompt's audio


def _call_id(hotline: Hotline, result: Any) -> str:
    first = next(c for c in result.commands if c.startswith("EXEC MixMonitor"))
    return Path(first.split(" ", 2)[2]).stem.rsplit("-", 1)[0]


async def test_no_usable_key_means_no_recording_and_an_alert(tmp_path: Path,
                                                            plan_dir: Path) -> None:
    settings = settings_for(tmp_path, plan_dir)
    ring = Keyring(settings.keys_dir)
    ring.retire(ring.create("symmetric").id)  # keys exist, none may wrap
    app = Hotline(settings)
    async with app.running():
        assert app.agi_address is not None
        result = await run_call(*app.agi_address, script="rec",
                                script_actions=CallerScript.of("4711"),
                                sounds_root=settings.sounds_dir, mixmonitor=True,
                                idle_timeout=10)
        assert result.variables.get("IVR_OUTCOME") == "self_served"  # the call went on
        assert not any("MixMonitor" in c for c in result.commands)
        assert await app.writer.wait_idle(5)
        rows = await app.calls.recent(limit=5)
        events = await app.calls.events(rows[0].id)
        alerts = [e.data for e in events if e.kind == "alert"]
        assert alerts and alerts[0]["code"] == "rec-no-key"
        assert await app.recording.sealer.scan_once(force=True) == []
        assert not settings.spool_dir.exists() or not list(settings.spool_dir.iterdir())
        assert await app.recordings.list() == []


async def test_without_mixmonitor_the_call_goes_on_unrecorded(hotline: Hotline) -> None:
    assert hotline.agi_address is not None
    result = await run_call(*hotline.agi_address, script="rec",
                            script_actions=CallerScript.of("4711"),
                            sounds_root=hotline.settings.sounds_dir, idle_timeout=10)
    assert "200 result=-2" in result.replies
    assert result.variables.get("IVR_OUTCOME") == "self_served"
    assert sum("MixMonitor" in c for c in result.commands) == 1  # tried once, no pause dance
