"""A softphone caller whose words are distressed, through the whole server `ivr serve` runs
(WebRTC gateway, whisper on the streamed turn, the trained distress model, the store):
escalated to senior agents, and the turn's voice was scored too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.emotion.scorer import TrainedScorer
from ivr.telephony.headless import SPEAK_RATE, HeadlessCaller, Step
from ivr.testing.speech_audio import espeak

from .conftest import base_url, make_settings, stored
from .test_calls import VOICE_PLAN

PLAN = VOICE_PLAN.replace(
    "start: main\n",
    "start: main\nescalate: {above: 0.7, rolling_above: 0.6, min_confidence: 0.5, boost: 3, "
    "queue: senior_agents}\n")
SAID = ("I want a refund. This is the fifth time I am calling and nobody helps me. "
        "I am so angry!")


@pytest.fixture
async def distress_hotline(tmp_path: Path, sounds_dir: Path) -> Any:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "voice.yaml").write_text(PLAN, encoding="utf-8")
    app = Hotline(make_settings(tmp_path, sounds_dir, plans, webrtc={"route": "voice"},
                                speech={"languages": {"en-US": {"engine": "whisper"}}}))
    async with app.running():
        yield app


async def test_a_distressed_softphone_caller_reaches_senior_agents(
        distress_hotline: Hotline) -> None:
    assert distress_hotline.runner is not None
    assert isinstance(distress_hotline.runner.emotion, TrainedScorer)  # the default: trained
    said = espeak(SAID, "en-us", rate=SPEAK_RATE)
    report = await HeadlessCaller(base_url(distress_hotline), [Step("say", samples=said)],
                                  max_seconds=60, step_timeout=30, patient=True).run()
    # Without distress this caller would hear about refunds and be self-served.
    assert (report.outcome, report.queue) == ("queued", "senior_agents"), report.heard
    row, events = await stored(distress_hotline, report.call_id)
    assert (row.queue, row.priority) == ("senior_agents", 3)
    [distress] = [e.data for e in events if e.kind == "distress"]
    assert distress["score"] >= 0.7 and distress["signals"]["words"] >= 0.7
    assert "arousal" in distress["signals"]  # the streamed turn's audio was scored as well
    [escalation] = [e.data for e in events if e.kind == "escalation"]
    assert escalation["action"] == "queue" and escalation["route"] == "refund"
