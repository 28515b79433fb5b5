"""Phone callers speaking over ARI: barge-in by speech during a long prompt, and no input."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.app import Hotline
from ivr.testing.ari_peer import FakeAsterisk
from ivr.testing.speech_audio import espeak

from .conftest import ari_settings, stored, until

VOICE_PLAN = """\
id: voice
languages: [en-US]
start: main
fallback: agent
defaults: {timeout: 2, retries: 0,
  no_input: {en-US: "Sorry, I didn't hear you."},
  no_match: {en-US: "Sorry, I didn't get that."}}
nodes:
  main:
    ask:
      prompt: {en-US: "Welcome to the voice line. You can say refund, or you can say agent,
        at any time while I am talking. For refunds you may also press 1, and for an agent
        press 0. This message is long on purpose, so that you can talk over it."}
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
    queue: {name: customer_service, prompt: {en-US: "Please hold."}}
"""


@pytest.fixture
async def voice_line(tmp_path: Path, sounds_dir: Path,
                     asterisk: FakeAsterisk) -> AsyncIterator[Hotline]:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "voice.yaml").write_text(VOICE_PLAN, encoding="utf-8")
    app = Hotline(ari_settings(tmp_path, sounds_dir, plans, asterisk.url,
                               speech={"languages": {"en-US": {"engine": "whisper"}}}))
    async with app.running():
        await asterisk.wait_connected()
        yield app


async def test_caller_talks_over_the_long_prompt(voice_line: Hotline,
                                                 asterisk: FakeAsterisk) -> None:
    # Stasis(hotline,8005550100,voice): the third argument picks the dialplan.
    caller = await asterisk.call(args=("8005550100", "voice"))
    await caller.wait_media()
    await until(lambda: len(caller.loud_times()) > 25)  # half a second into the prompt
    caller.say(espeak("I want a refund", "en-us", rate=8000))
    spoke = time.monotonic()
    await caller.wait_gone(60)
    assert caller.channel.variables["IVR_OUTCOME"] == "self_served"
    assert caller.channel.continued == ("hotline", "route", 1)
    # The prompt (about 12 s) stopped while the caller spoke: the whole call, reply and
    # goodbye included, took far less than the prompt alone.
    assert time.monotonic() - spoke < 9.0
    row, events = await stored(voice_line, str((await voice_line.calls.recent(limit=1))[0].id))
    turns = [e for e in events if e.kind == "turn"]
    assert turns[0].data["mode"] == "speech" and turns[0].data["barged_in"] is True
    assert "refund" in turns[0].data["transcript"].lower()
    assert (row.transport, row.dialplan_id, row.outcome) == ("ari", "voice", "self_served")


async def test_silent_caller_reaches_an_agent(voice_line: Hotline,
                                              asterisk: FakeAsterisk) -> None:
    caller = await asterisk.call(args=("8005550100", "voice"))
    await caller.wait_gone(90)
    assert caller.channel.variables["IVR_QUEUE"] == "customer_service"
    _row, events = await stored(voice_line, str((await voice_line.calls.recent(limit=1))[0].id))
    assert "no_input" in [e.kind for e in events]
