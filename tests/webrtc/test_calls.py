"""Whole WebRTC calls: the headless aiortc caller against `ivr serve`'s gateway (127.0.0.1)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.telephony.headless import SPEAK_RATE, HeadlessCaller, Step
from ivr.testing.speech_audio import espeak

from .conftest import base_url, make_settings, stored

VOICE_PLAN = """\
id: voice
languages: [en-US]
start: main
fallback: agent
defaults: {timeout: 3, retries: 1,
  no_input: {en-US: "Sorry, I didn't hear you."},
  no_match: {en-US: "Sorry, I didn't get that."}}
nodes:
  main:
    ask:
      prompt: {en-US: "Say refund, or say agent. Or press 1 for refunds."}
      dtmf: {"1": refund, "0": agent}
      phrases:
        refund: {en-US: [refund, money back]}
        agent: {en-US: [agent, operator, representative]}
  refund:
    say: {en-US: "Refunds take five business days."}
    next: done
  done:
    hangup: {prompt: {en-US: "Goodbye."}}
  agent:
    queue: {name: customer_service, prompt: {en-US: "Please hold for an agent."}}
"""


async def test_caller_walks_the_hotline_by_keys(hotline: Hotline) -> None:
    report = await HeadlessCaller(base_url(hotline), [Step("press", keys="1"),
                                                      Step("press", keys="3")],
                                  max_seconds=40, step_timeout=20).run()
    assert report.error is None
    assert report.dtls and report.outcome == "queued" and report.queue == "card_services"
    assert report.prompts[0].startswith("Welcome to Acme Pay")
    assert report.prompts[-1].startswith("We will block your card")
    assert [h.get("digits") for h in report.heard] == ["1", "3"]
    assert report.connect_ms is not None and report.connect_ms < 1000
    assert report.first_audio_ms is not None and report.first_audio_ms < 1000
    row, events = await stored(hotline, report.call_id)
    assert (row.transport, row.outcome, row.queue, row.priority) == (
        "webrtc", "queued", "card_services", 7)
    assert row.caller is None  # a browser's claim to a number is never trusted
    assert "transfer" in [e.kind for e in events]
    assert hotline.webrtc is not None and not hotline.webrtc.sessions


async def test_caller_hangs_up_mid_prompt(hotline: Hotline) -> None:
    report = await HeadlessCaller(base_url(hotline), [], max_seconds=1.0).run()
    assert report.outcome == "abandoned" and report.dtls
    row, events = await stored(hotline, report.call_id)
    assert row.outcome == "abandoned"
    assert "caller_hung_up" in [e.kind for e in events]


async def test_transfer_plays_hold_music_then_ends_queued(tmp_path: Path, sounds_dir: Path,
                                                          dialplan_dir: Path) -> None:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir,
                                webrtc={"hold_music_seconds": 1.0}))
    async with app.running():
        report = await HeadlessCaller(base_url(app), [Step("press", keys="1"),
                                                      Step("press", keys="0")],
                                      max_seconds=40, step_timeout=20).run()
    kinds = [e["type"] for e in report.events]
    assert report.outcome == "queued" and report.queue == "customer_service"
    assert kinds.index("transfer") < kinds.index("hold") < kinds.index("outcome")
    hold = next(e for e in report.events if e["type"] == "hold")
    bye = next(e for e in report.events if e["type"] == "bye")
    assert bye["at_ms"] - hold["at_ms"] >= 900


async def test_over_capacity_callers_hear_all_lines_are_busy(tmp_path: Path, sounds_dir: Path,
                                                             dialplan_dir: Path) -> None:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir,
                                webrtc={"max_calls": 1, "busy_calls": 1}))
    async with app.running():
        url = base_url(app)
        first = asyncio.create_task(HeadlessCaller(url, [], max_seconds=6).run())
        for _ in range(100):
            if app.webrtc is not None and app.webrtc.active:
                break
            await asyncio.sleep(0.05)
        busy, refused = await asyncio.gather(
            HeadlessCaller(url, [], max_seconds=15).run(),
            HeadlessCaller(url, [], max_seconds=5).run())
        if refused.error is None:  # whichever offer came second got the 503
            busy, refused = refused, busy
        held = await first
    assert held.outcome == "abandoned"
    assert busy.prompts == ["Sorry, all lines are busy. Please call again in a few minutes. "
                            "Goodbye."]
    assert busy.outcome == "failed" and any(e["type"] == "bye" for e in busy.events)
    assert refused.error is not None and refused.error["code"] == "webrtc-busy"


@pytest.fixture
async def voice_hotline(tmp_path: Path, sounds_dir: Path) -> Any:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "voice.yaml").write_text(VOICE_PLAN, encoding="utf-8")
    app = Hotline(make_settings(tmp_path, sounds_dir, plans, webrtc={"route": "voice"},
                                speech={"languages": {"en-US": {"engine": "whisper"}}}))
    async with app.running():
        yield app


async def test_caller_walks_the_hotline_by_voice(voice_hotline: Hotline) -> None:
    said = espeak("I want to speak to an agent please", "en-us", rate=SPEAK_RATE)
    report = await HeadlessCaller(base_url(voice_hotline), [Step("say", samples=said)],
                                  max_seconds=40, step_timeout=20, patient=True).run()
    assert report.outcome == "queued" and report.queue == "customer_service", report.heard
    speech = [h for h in report.heard if h.get("mode") == "speech" and h.get("text")]
    assert speech and "agent" in speech[0]["text"].lower()
    assert report.reply_ms and report.reply_ms[0] < 3000
    row, events = await stored(voice_hotline, report.call_id)
    turns = [e for e in events if e.kind == "turn"]
    assert turns and turns[0].data["mode"] == "speech"


async def test_speech_barges_in_over_the_prompt(voice_hotline: Hotline) -> None:
    # A whole answer, not the lone word "refund": whisper's confidence in one barged-in word
    # sits at the 0.35 floor and moves with the call's start-up timing by tens of ms.
    said = espeak("I want a refund", "en-us", rate=SPEAK_RATE)
    report = await HeadlessCaller(base_url(voice_hotline), [Step("say", samples=said)],
                                  max_seconds=40, step_timeout=20).run()
    first_done = next(e for e in report.events if e["type"] == "prompt_done")
    assert first_done["interrupted"] is True
    assert report.outcome == "self_served", report.heard
    assert "Refunds take five business days." in report.prompts
