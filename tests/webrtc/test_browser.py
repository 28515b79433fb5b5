"""The softphone page in headless Chromium, with the server, inside a loopback-only netns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.telephony.prompt_files import write_wav
from ivr.testing.speech_audio import espeak

pytest.importorskip("playwright.async_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which("unshare") and shutil.which("ip")),
    reason="needs /usr/bin/chromium, unshare and ip")
DRIVER = Path(__file__).with_name("browser_call.py")


def test_softphone_calls_hears_the_welcome_keys_a_digit_and_shows_the_transcript(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    mic = tmp_path / "mic.wav"
    write_wav(mic, espeak("hello, this is a test caller", "en-us", rate=48000), 48000)
    shots = os.environ.get("IVR_TEST_SCREENSHOTS")
    shot = [str(Path(shots) / "softphone.png")] if shots else []
    inner = " ".join([sys.executable, str(DRIVER), str(sounds_dir), str(dialplan_dir),
                      str(tmp_path / "data"), str(mic), *shot])
    # A new network namespace holding only `lo`: nothing can leave this machine's loopback.
    done = subprocess.run(["unshare", "-rn", "sh", "-c", f"ip link set lo up && exec {inner}"],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stats = result["welcome_stats"]
    assert stats["max_level"] > 0.01 and stats["inbound_bytes"] > 1000
    assert stats["energy"] > 0
    assert stats["dtls"] == "connected" and stats["srtp"]
    assert stats["pairs"] and all(p == ["127.0.0.1", "127.0.0.1"] for p in stats["pairs"])
    assert "Hotline got key:1" in result["transcript"]
    assert result["stored"] == {"outcome": "queued", "queue": "customer_service",
                                "transport": "webrtc"}
