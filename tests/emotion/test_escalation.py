"""Distressed callers reach a person sooner; every escalation is an event with its reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

from ivr.commands.emotion import register  # noqa: F401  (the command module imports cleanly)
from ivr.emotion.policy import DEFAULT_POLICY
from ivr.emotion.report import distress_lines
from ivr.emotion.scorer import CueScorer
from ivr.emotion.tracker import DistressTracker
from ivr.emotion.types import TurnInput
from ivr.flow.engine import FlowEngine, PublishedPlan
from ivr.flow.loader import load_text
from ivr.flow.voice import VoiceConfig
from ivr.speech.asr import Transcript
from ivr.speech.listening import Heard, ListenOptions
from ivr.telephony.call import Call, Prompt
from ivr.testing.fake_call import FakeCall
from ivr.testing.fakes import EventList, TextPrompts

PLAN = """
id: hotline
languages: [en-US]
start: menu
{escalate}
nodes:
  menu:
    ask:
      prompt: {{en-US: "Say balance or agent."}}
      dtmf: {{"1": balance, "0": agent}}
      phrases: {{balance: {{en-US: [balance]}}, agent: {{en-US: [agent]}}}}
      retries: 2
  balance:
    say: {{en-US: "Your balance is fine."}}
    next: menu
  agent:
    queue: {{name: customer_service, priority: 1}}
"""


@dataclass
class Caller:
    """A scripted voice caller (what a recogniser would print)."""

    lines: list[str]

    def available(self, language: str) -> bool:
        return True

    async def ask(self, call: Call, prompts: Sequence[Prompt], language: str,
                  options: ListenOptions) -> Heard:
        text = self.lines.pop(0)
        return Heard("speech", transcript=Transcript(text, 0.9, engine="script"))


async def run(lines: list[str], escalate: str = "") -> tuple[FakeCall, EventList]:
    loaded, problems = load_text(PLAN.format(escalate=escalate))
    assert loaded is not None, problems
    call, events = FakeCall([]), EventList()
    engine = FlowEngine(call, PublishedPlan.compile(loaded.plan, 1), TextPrompts(), events,
                        default_queue="customer_service", voice=VoiceConfig(Caller(lines)),
                        emotion=CueScorer())
    await engine.run()
    return call, events


async def test_an_angry_caller_gets_a_higher_priority_and_the_event_says_why() -> None:
    call, events = await run(["This is the fifth time I call, I will complain to the "
                              "regulator!", "agent"])
    assert call.transferred is not None and call.transferred.priority == 1 + 3
    escalation = events.of("escalation")
    assert len(escalation) == 1 and escalation[0]["action"] == "priority"
    assert any("complaint" in r for r in escalation[0]["reasons"])
    scores = events.of("distress")
    assert len(scores) == 2 and scores[0]["score"] >= 0.7
    assert scores[1]["rolling"] is None  # "agent": too little to count in the rolling score


async def test_a_calm_caller_is_not_escalated() -> None:
    call, events = await run(["balance", "I'd like to speak with someone please", "agent"])
    assert call.transferred is not None and call.transferred.priority == 1
    assert not events.of("escalation") and events.of("distress")


async def test_queue_policy_sends_the_caller_to_senior_agents_at_once() -> None:
    policy = "escalate: {above: 0.7, action: queue, queue: senior_agents, boost: 5}"
    call, events = await run(["agent agent agent", "balance"], policy)
    assert call.transferred is not None and call.transferred.name == "senior_agents"
    assert events.of("escalation")[0]["queue"] == "senior_agents"


def test_queue_policy_without_a_queue_is_a_dialplan_problem() -> None:
    loaded, problems = load_text(PLAN.format(escalate="escalate: {action: queue}"))
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
