"""Distressed callers reach a person sooner; every escalation is an event with its reasons."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from ivr.commands.emotion import register  # noqa: F401  (the command module imports cleanly)
from ivr.emotion.policy import DEFAULT_POLICY
from ivr.emotion.report import distress_lines
from ivr.emotion.scorer import CueScorer
from ivr.emotion.tracker import DistressTracker
from ivr.emotion.types import TurnInput
from ivr.flow.loader import load_text
from ivr.testing.distress import distress_call
from ivr.testing.fake_call import FakeCall
from ivr.testing.fakes import EventList

PLAN = """
id: hotline
languages: [en-US]
start: menu
{escalate}
nodes:
  menu:
    ask:
      prompt: {{en-US: "Say balance or agent, or tell me what happened."}}
      dtmf: {{"1": balance, "0": agent}}
      phrases: {{balance: {{en-US: [balance]}}, agent: {{en-US: [agent]}}}}
      intents: {{card_lost: block, fraud_report: fraud}}
      retries: 2
  balance:
    say: {{en-US: "Your balance is fine."}}
    next: menu
  agent:
    queue: {{name: customer_service, priority: 1}}
  block:
    ask:
      prompt: {{en-US: "Say yes to block your card."}}
      dtmf: {{"1": blocked}}
      phrases: {{blocked: {{en-US: ["yes"]}}}}
  blocked:
    say: {{en-US: "Your card is blocked."}}
    next: goodbye
  fraud:
    queue: {{name: fraud_desk, priority: 5}}
  goodbye:
    hangup: {{prompt: {{en-US: "Goodbye."}}}}
"""
ANGRY = "This is the fifth time I call, I will complain to the regulator!"


async def run(lines: list[str | None], escalate: str = "") -> tuple[FakeCall, EventList]:
    events = EventList()
    call = await distress_call(PLAN.format(escalate=escalate), lines, events)
    return call, events


def said(call: FakeCall) -> list[str]:
    return [p.text for p in call.played]


async def test_an_angry_caller_gets_a_higher_priority_and_the_event_says_why() -> None:
    call, events = await run([ANGRY, "agent"])
    assert call.transferred is not None and call.transferred.priority == 1 + 3
    escalation = events.of("escalation")
    assert len(escalation) == 1 and escalation[0]["action"] == "priority"
    assert escalation[0]["route"] == "agent"
    assert any("complaint" in r for r in escalation[0]["reasons"])
    scores = events.of("distress")
    assert len(scores) == 2 and scores[0]["score"] >= 0.7
    assert scores[1]["rolling"] is None  # "agent": too little to count in the rolling score


async def test_a_calm_caller_is_not_escalated() -> None:
    call, events = await run(["balance", "I'd like to speak with someone please", "agent"])
    assert call.transferred is not None and call.transferred.priority == 1
    assert not events.of("escalation") and events.of("distress")


async def test_distress_on_a_later_turn_sends_a_self_service_caller_to_senior_agents() -> None:
    # Calm twice, then angry while choosing self-service: no queue on that route.
    call, events = await run(["balance", "balance please", f"{ANGRY} My balance!"])
    assert call.transferred is not None
    assert (call.transferred.name, call.transferred.priority) == ("senior_agents", 3)
    [escalation] = events.of("escalation")
    assert escalation["action"] == "queue" and escalation["queue"] == "senior_agents"
    assert escalation["route"] == "balance" and escalation["reasons"]
    assert [d["score"] >= 0.7 for d in events.of("distress")] == [False, False, True]


async def test_a_queue_route_chosen_in_distress_keeps_its_queue_with_the_boost() -> None:
    policy = "escalate: {above: 0.7, boost: 5, queue: senior_agents}"
    call, events = await run([f"{ANGRY} Agent!"], policy)
    assert call.transferred is not None
    assert (call.transferred.name, call.transferred.priority) == ("customer_service", 1 + 5)
    assert events.of("escalation")[0]["boost"] == 5


async def test_a_question_falling_back_to_the_default_queue_keeps_the_boost() -> None:
    # Angry, then silent until the question gives up: the default queue, boosted.
    call, events = await run([ANGRY])
    assert call.transferred is not None
    assert (call.transferred.name, call.transferred.priority) == ("customer_service", 0 + 3)
    assert events.of("escalation")[0]["action"] == "priority"
    assert events.of("transfer")[-1]["escalated"] is True


async def test_lost_card_route_is_never_overridden() -> None:
    call, events = await run([f"{ANGRY} Someone stole my card!", "yes"])
    assert call.transferred is None and said(call)[-2:] == ["Your card is blocked.", "Goodbye."]
    [escalation] = events.of("escalation")
    assert escalation["action"] == "priority" and escalation["route"] == "block"
    assert "kept the card_lost route" in escalation["reasons"]


async def test_fraud_route_keeps_the_fraud_desk_at_a_higher_priority() -> None:
    call, events = await run([f"{ANGRY} This is a scam, fraud on my account!"])
    assert call.transferred is not None
    assert (call.transferred.name, call.transferred.priority) == ("fraud_desk", 5 + 3)
    assert "kept the fraud_report route" in events.of("escalation")[0]["reasons"]


async def test_a_call_escalates_once() -> None:
    # Escalated (kept route) at the menu; angrier still at the block question, whose route
    # (a goodbye) would otherwise go to senior agents: no second escalation.
    call, events = await run([f"{ANGRY} My card is gone!",
                              "yes, block it, useless people, I will complain to the regulator!"])
    assert call.transferred is None and said(call)[-1] == "Goodbye."
    assert len(events.of("escalation")) == 1
    assert [d["score"] >= 0.7 for d in events.of("distress")] == [True, True]


async def test_old_action_field_still_loads_with_a_deprecation(
        caplog: pytest.LogCaptureFixture) -> None:
    policy = "escalate: {above: 0.7, action: queue, queue: senior_agents, boost: 5}"
    with caplog.at_level(logging.WARNING):
        call, events = await run(["agent agent agent", "balance"], policy)
    assert "escalate 'action' is deprecated" in caplog.text and "<dialplan>:5:" in caplog.text
    assert call.transferred is not None and call.transferred.priority == 1 + 5
    assert events.of("escalation")[0]["action"] == "priority"  # its route ends in a queue


def test_escalation_queue_must_be_a_queue_name() -> None:
    loaded, problems = load_text(PLAN.format(escalate="escalate: {queue: Senior Agents}"))
    assert loaded is None and any("queue" in str(p) for p in problems)


async def test_repeated_agent_requests_across_turns_and_keys_add_up() -> None:
    tracker = DistressTracker(CueScorer())
    tracker.keypad_agent_request()
    first = await tracker.observe(TurnInput("en-US"), DEFAULT_POLICY)
    assert not first.escalate
    second = await tracker.observe(TurnInput("en-US", "agent"), DEFAULT_POLICY)
    assert not second.escalate  # two requests: insistence
    third = await tracker.observe(TurnInput("en-US", "I said agent"), DEFAULT_POLICY)
    assert third.escalate and "repeated agent requests" in third.escalate


def test_calls_show_prints_scores_and_reasons() -> None:
    events = [SimpleNamespace(kind="distress", node="menu", data={
                  "score": 0.9, "confidence": 0.95, "rolling": None,
                  "reasons": ["complaint/regulator threat"]}),
              SimpleNamespace(kind="escalation", node="menu", data={
                  "action": "priority", "boost": 3, "reasons": ["turn score 0.90 ≥ 0.70"]})]
    text = "\n".join(distress_lines(events))
    assert "distress 0.90" in text and "complaint/regulator threat" in text
    assert "ESCALATED" in text and "priority +3" in text


def test_one_request_for_a_person_counts_once() -> None:
    """转人工 holds 人工, 人工客服 holds both 人工 and 客服: one request each, so a single calm
    request is never counted as insisting (the agent-request ramp starts at two)."""
    from ivr.emotion import words

    assert words.agent_mentions("我要转人工", "zh-CN") == 1
    assert words.agent_mentions("人工客服在吗", "zh-CN") == 1
    assert words.agent_mentions("转人工，转人工，我说转人工！", "zh-CN") == 3
    assert words.agent_mentions("Agent. I said AGENT, a real person!", "en-US") == 3
    assert "agent_repeat" not in words.assess("我要转人工", "zh-CN").cues
    assert words.assess("转人工转人工", "zh-CN").cues["agent_repeat"] > 0
