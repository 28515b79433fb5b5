"""The post-call survey node: a key from 1 to the scale, silence moves on, the hotline asks
after self-service and before goodbye."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.flow.engine import FlowEngine, Outcome, PublishedPlan
from ivr.flow.loader import load_file, load_text
from ivr.testing.fake_call import FakeCall
from ivr.testing.fakes import EventList, TextPrompts

ROOT = Path(__file__).resolve().parents[2]
PLAN = """\
id: s
languages: [en-US, zh-CN]
start: survey
fallback: agent
nodes:
  survey:
    survey:
      prompt: {en-US: "Rate us from 1 to 5.", zh-CN: "请打分。"}
      scale: 5
      thanks: {en-US: "Thanks!", zh-CN: "谢谢！"}
      next: bye
  bye:
    hangup: {prompt: {en-US: "Goodbye.", zh-CN: "再见。"}}
  agent:
    queue: {name: customer_service}
"""


def compiled(text: str = PLAN) -> PublishedPlan:
    loaded, problems = load_text(text)
    assert loaded is not None, problems
    return PublishedPlan.compile(loaded.plan, 1)


async def walk(plan: PublishedPlan, script: list[str | None]) -> tuple[Outcome, FakeCall,
                                                                        EventList]:
    call = FakeCall(list(script))
    events = EventList()
    outcome = await FlowEngine(call, plan, TextPrompts(), events,
                               default_queue="customer_service").run()
    return outcome, call, events


async def test_a_key_is_the_score_and_the_caller_is_thanked() -> None:
    outcome, call, events = await walk(compiled(), ["4"])
    assert outcome == Outcome("self_served")
    assert events.of("survey") == [{"score": 4, "scale": 5, "mode": "keypad"}]
    assert call.texts[-2:] == ["Thanks!", "Goodbye."]


@pytest.mark.parametrize("script", [[None], ["7"]])
async def test_silence_or_a_wrong_key_just_says_goodbye(script: list[str | None]) -> None:
    outcome, call, events = await walk(compiled(), script)
    assert outcome == Outcome("self_served")  # never an agent
    assert call.transferred is None and not events.of("survey")
    assert call.texts[-1] == "Goodbye."


def test_loader_checks_the_survey_next_and_scale() -> None:
    _, problems = load_text(PLAN.replace("next: bye", "next: byee"))
    assert any("unknown node 'byee'" in p.message and "did you mean 'bye'" in p.message
               for p in problems), problems
    _, problems = load_text(PLAN.replace("scale: 5", "scale: 12"))
    assert any(p.line == 9 for p in problems), problems


async def test_hotline_offers_the_survey_after_self_service_before_goodbye() -> None:
    loaded, problems = load_file(ROOT / "dialplans" / "hotline.yaml")
    assert loaded is not None, problems
    plan = PublishedPlan.compile(loaded.plan, 1)
    # English, fees (4: said, then "anything else?"), 1: done, survey: 5.
    outcome, call, events = await walk(plan, ["1", "4", "1", "5"])
    assert outcome == Outcome("self_served")
    assert events.of("survey") == [{"score": 5, "scale": 5, "mode": "keypad"}]
    survey_at = next(i for i, t in enumerate(call.texts) if "how satisfied" in t)
    assert "Goodbye" in call.texts[-1] and survey_at < len(call.texts) - 1
    # A caller who stays silent at "anything else?" hears the survey, then goodbye.
    outcome, call, events = await walk(plan, ["1", "4", None, None])
    assert outcome == Outcome("self_served") and not events.of("survey")
    assert any("how satisfied" in t for t in call.texts) and "Goodbye" in call.texts[-1]
