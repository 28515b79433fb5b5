"""Questions answered by voice on a fake streaming call (real whisper, espeak-ng callers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ivr.flow.engine import FlowEngine, Outcome, PublishedPlan
from ivr.flow.loader import load_text
from ivr.flow.voice import VoiceConfig
from ivr.speech.endpoint import EndpointConfig
from ivr.speech.listen import SpeechListener
from ivr.testing.fake_streaming import FakeStreamingCall, Press, Speak
from ivr.testing.fakes import EventList, TextPrompts
from ivr.testing.speech_audio import espeak, noise

PLAN = """\
id: voice
languages: [en-US, zh-CN]
start: main
fallback: agent
defaults: {timeout: 3, retries: 1,
  no_input: {en-US: "Sorry, I didn't hear you.", zh-CN: "抱歉，没有听到。"},
  no_match: {en-US: "Sorry, I didn't get that.", zh-CN: "抱歉，没有听懂。"}}
nodes:
  main:
    ask:
      prompt: {en-US: "Say refund, or say agent. Or press 1 for refunds.",
               zh-CN: "退款请按1。"}
      reprompt: {en-US: "Say refund or agent.", zh-CN: "退款请按1。"}
      dtmf: {"1": refund, "0": agent}
      phrases:
        refund: {en-US: [refund, money back]}
        agent: {en-US: [agent, operator, representative]}
      barge_in: BARGE
  refund:
    collect: {prompt: {en-US: "Say or key your order number.", zh-CN: "请输入订单号。"},
              into: order, min_length: 4, max_length: 8}
    next: done
  done:
    hangup: {}
  agent:
    queue: {name: customer_service}
"""


def plan(barge_in: bool = True) -> PublishedPlan:
    loaded, problems = load_text(PLAN.replace("BARGE", str(barge_in).lower()))
    assert loaded is not None, problems
    return PublishedPlan.compile(loaded.plan, 1)


@pytest.fixture(scope="module")
def voice_config(whisper: Any) -> VoiceConfig:
    return VoiceConfig(listener=SpeechListener({"en-US": whisper}),
                       endpoint=EndpointConfig(no_input=3.0), min_confidence={"en-US": 0.3})


async def run(call: FakeStreamingCall, published: PublishedPlan,
              voice: VoiceConfig) -> tuple[Outcome, EventList]:
    events = EventList()
    engine = FlowEngine(call, published, TextPrompts(), events, default_queue="customer_service",
                        voice=voice)
    return await engine.run(), events


async def test_caller_says_refund_then_speaks_digits_and_confirms(voice_config: Any) -> None:
    call = FakeStreamingCall(voice_script=[
        Speak(espeak("I need a refund please"), after=2.0),
        Speak(espeak("one two three four five"), after=2.0),
        Speak(espeak("yes"), after=2.0),
    ])
    outcome, events = await run(call, plan(), voice_config)
    assert outcome == Outcome("self_served")
    assert events.of("collected") == [{"var": "order", "digits": "12345", "mode": "speech"}]
    assert any(t.startswith("I heard one two three, four five") for t in call.texts)
    turns = events.of("turn")
    assert [t["result"] for t in turns] == ["match", "match"]
    assert all(t["engine"] == "whisper" and t["confidence"] > 0.3 for t in turns)
    assert all(t["end_to_final_ms"] is not None for t in turns)


async def test_speech_barges_in_but_a_cough_does_not(voice_config: Any) -> None:
    call = FakeStreamingCall(voice_script=[
        Speak(np.concatenate([noise(0.08), np.zeros(4000, np.int16), espeak("agent")]),
              after=0.3),
    ])
    outcome, events = await run(call, plan(), voice_config)
    assert outcome.queue == "customer_service"
    assert call.stopped_prompts == ["Say refund, or say agent. Or press 1 for refunds."]
    assert events.of("turn")[0]["barged_in"] is True


async def test_barge_in_off_plays_the_prompt_to_the_end(voice_config: Any) -> None:
    call = FakeStreamingCall(voice_script=[Speak(espeak("agent"), after=0.2),
                                           Speak(espeak("agent"), after=0.5)])
    outcome, _ = await run(call, plan(barge_in=False), voice_config)
    assert call.stopped_prompts == []
    assert outcome.queue == "customer_service"


async def test_keys_work_while_listening(voice_config: Any) -> None:
    call = FakeStreamingCall(voice_script=[Press("1", after=0.5), Press("4321#", after=2.0)])
    outcome, events = await run(call, plan(), voice_config)
    assert outcome == Outcome("self_served")
    assert events.of("collected")[0]["digits"] == "4321"


def retry_kinds(events: EventList) -> list[str]:
    return [k for k in events.kinds() if k in ("no_input", "no_match", "keypad_fallback",
                                               "retries_exhausted")]


async def test_silence_reprompts_briefly_then_agent(voice_config: Any) -> None:
    # Keys were armed all along: a caller who never answered gets no keypad-only round.
    call = FakeStreamingCall(voice_script=[None, None], script=[None])
    outcome, events = await run(call, plan(), voice_config)
    assert outcome.queue == "customer_service"
    assert call.texts == ["Say refund, or say agent. Or press 1 for refunds.",
                          "Sorry, I didn't hear you.", "Say refund or agent."]
    assert retry_kinds(events) == ["no_input", "no_input", "retries_exhausted"]


async def test_a_wrong_key_then_silence_gets_the_keypad_menu(voice_config: Any) -> None:
    call = FakeStreamingCall(voice_script=[Press("7", after=0.5), None], script=[None])
    outcome, events = await run(call, plan(), voice_config)
    assert outcome.queue == "customer_service"
    assert retry_kinds(events) == [
        "no_match", "no_input", "keypad_fallback", "no_input", "retries_exhausted"]
    assert call.texts[-1] == "Say refund, or say agent. Or press 1 for refunds."


async def test_mandarin_is_keypad_only_without_a_recogniser(voice_config: Any) -> None:
    from dataclasses import replace

    call = FakeStreamingCall(script=["1", "12345#"])
    call.info = replace(call.info, language="zh-CN")
    outcome, events = await run(call, plan(), voice_config)
    assert outcome == Outcome("self_served") and not events.of("turn")


async def test_secret_collect_never_listens(voice_config: Any) -> None:
    loaded, problems = load_text(PLAN.replace("BARGE", "true").replace(
        "min_length: 4, max_length: 8}", "min_length: 4, max_length: 8, secret: true}"))
    assert loaded is not None, problems
    call = FakeStreamingCall(voice_script=[Press("1", after=0.5)], script=["9876#"])
    outcome, events = await run(call, PublishedPlan.compile(loaded.plan, 1), voice_config)
    assert outcome == Outcome("self_served")
    assert "9876" not in repr(events.events) and len(events.of("turn")) == 1


async def test_a_streaming_turn_reaches_the_distress_scorer_with_its_audio(
        voice_config: Any) -> None:
    from ivr.emotion.scorer import CueScorer

    said = espeak("I need a refund please")
    call = FakeStreamingCall(voice_script=[Speak(said, after=2.0), None, None])
    events = EventList()
    engine = FlowEngine(call, plan(), TextPrompts(), events, default_queue="customer_service",
                        voice=voice_config, emotion=CueScorer())
    await engine.run()
    first = events.of("distress")[0]
    # prosody was measured: the voice of a streaming (WebRTC-like) turn is scored, not only words
    assert "arousal" in first["signals"] and "pitch_st" in first["signals"]
