"""The survey node answered by voice (real whisper, an espeak-ng caller)."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.flow.engine import FlowEngine, Outcome, PublishedPlan
from ivr.flow.loader import load_text
from ivr.flow.voice import VoiceConfig
from ivr.speech.endpoint import EndpointConfig
from ivr.speech.listen import SpeechListener
from ivr.testing.fake_streaming import FakeStreamingCall, Speak
from ivr.testing.fakes import EventList, TextPrompts
from ivr.testing.speech_audio import espeak

PLAN = """\
id: s
languages: [en-US]
start: survey
nodes:
  survey:
    survey:
      prompt: {en-US: "How satisfied are you? Say or press 1 to 5."}
      thanks: {en-US: "Thank you."}
      next: bye
  bye:
    hangup: {prompt: {en-US: "Goodbye."}}
"""


@pytest.fixture(scope="module")
def voice_config(whisper: Any) -> VoiceConfig:
    return VoiceConfig(listener=SpeechListener({"en-US": whisper}),
                       endpoint=EndpointConfig(no_input=3.0), min_confidence={"en-US": 0.3})


async def test_a_spoken_score_is_stored(voice_config: VoiceConfig) -> None:
    loaded, problems = load_text(PLAN)
    assert loaded is not None, problems
    call = FakeStreamingCall(voice_script=[Speak(espeak("four"), after=1.0)])
    events = EventList()
    outcome = await FlowEngine(call, PublishedPlan.compile(loaded.plan, 1), TextPrompts(),
                               events, default_queue="customer_service",
                               voice=voice_config).run()
    assert outcome == Outcome("self_served")
    assert events.of("survey") == [{"score": 4, "scale": 5, "mode": "voice"}]
    assert call.texts[-2:] == ["Thank you.", "Goodbye."]
