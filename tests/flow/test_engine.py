"""The hotline flow as callers walk it, on the in-memory FakeCall."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.flow.engine import FlowEngine, Outcome, PublishedPlan
from ivr.flow.loader import load_file, load_text
from ivr.flow.runner import CallRunner
from ivr.testing.fake_call import FakeCall
from ivr.testing.fakes import EventList, TextPrompts

ROOT = Path(__file__).resolve().parents[2]
OPEN = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 11:00 in Shanghai
CLOSED = datetime(2027, 1, 1, 4, 0, tzinfo=UTC)  # noon on New Year's Day in Shanghai


@pytest.fixture(scope="module")
def hotline() -> PublishedPlan:
    plan, problems = load_file(ROOT / "dialplans" / "hotline.yaml")
    assert plan is not None, problems
    return PublishedPlan.compile(plan.plan, 1)


class NoStats:
    def call_started(self, transport: str) -> None: ...

    def call_ended(self, transport: str, outcome: str, error_code: str | None) -> None: ...


def make_runner(plan: PublishedPlan, call_log: Any, *, store_healthy: bool = True,
                prompts: Any = None, apology: str = "Sorry, please hold.") -> CallRunner:
    """A runner serving ``plan`` for route ``hotline`` only."""

    class Plans:
        def get(self, dialplan_id: str) -> PublishedPlan | None:
            return plan if dialplan_id == "hotline" else None

    return CallRunner(plans=Plans(), prompts=prompts or TextPrompts(), call_log=call_log,
                      store_healthy=lambda: store_healthy, stats=NoStats(),
                      default_queue="customer_service", default_language="en-US",
                      apology={"en-US": apology, "zh-CN": "抱歉。"})


async def walk(plan: PublishedPlan, script: list[str | None], *, now: datetime = OPEN,
               language: str | None = None) -> tuple[Outcome, FakeCall, EventList]:
    call = FakeCall(list(script))
    if language:
        from dataclasses import replace
        call.info = replace(call.info, language=language)
    events = EventList()
    engine = FlowEngine(call, plan, TextPrompts(), events, default_queue="customer_service",
                        clock=lambda: now)
    outcome = await engine.run()
    return outcome, call, events


async def test_lost_card_goes_to_card_services_with_priority(hotline: PublishedPlan) -> None:
    outcome, call, events = await walk(hotline, ["1", "3"])
    assert outcome == Outcome("queued", "card_services", 7)
    assert call.transferred is not None and call.transferred.name == "card_services"
    assert call.texts[0].startswith("Welcome to Acme Pay")
    assert events.of("transfer") == [{"queue": "card_services", "priority": 7}]


async def test_chinese_caller_hears_mandarin_after_choosing_2(hotline: PublishedPlan) -> None:
    outcome, call, _ = await walk(hotline, ["2", "0"])
    assert outcome.queue == "customer_service"
    menu = [p for p in call.played if "人工服务" in p.text]
    assert menu and all(p.language == "zh-CN" for p in menu)


MENU = "Tell me in a few words how I can help"
SHORT_MENU = "Say what you need, or press star to hear the menu again."


async def test_invalid_then_valid_key(hotline: PublishedPlan) -> None:
    # language 1, then main menu: 7 (invalid, the apology is cut by 4: fees), then 1 to finish
    outcome, call, events = await walk(hotline, ["1", "7", "4", "1"])
    assert outcome == Outcome("self_served")
    assert [e["attempt"] for e in events.of("no_match")] == [1]
    assert "Sorry, that is not one of the options." in call.texts
    assert call.texts[-1] == "Thank you for calling Acme Pay. Goodbye."


async def test_invalid_then_silence_hears_the_short_reprompt_then_an_agent(
        hotline: PublishedPlan) -> None:
    outcome, call, events = await walk(hotline, ["1", "7", None])
    assert outcome == Outcome("queued", "customer_service", 1)
    assert [e["attempt"] for e in events.of("no_match")] == [1]
    assert [e["attempt"] for e in events.of("no_input")] == [2]
    assert len([t for t in call.texts if t.startswith(MENU)]) == 1  # not the whole menu again
    assert call.texts[-3:] == ["Sorry, that is not one of the options.", SHORT_MENU,
                               "Please hold while we connect you to the next available agent."]


async def test_silent_caller_is_asked_once_more_briefly_then_gets_an_agent(
        hotline: PublishedPlan) -> None:
    outcome, call, events = await walk(hotline, ["1", None, None])
    assert outcome == Outcome("queued", "customer_service", 1)
    assert [e["attempt"] for e in events.of("no_input")] == [1, 2]
    texts = call.texts
    assert len([t for t in texts if t.startswith(MENU)]) == 1
    assert texts[-3:] == ["Sorry, I didn't hear a choice.", SHORT_MENU,
                          "Please hold while we connect you to the next available agent."]


@pytest.mark.parametrize(("line", "hold"), [
    (None, "Please hold while we connect you to the next available agent."),
    ("zh-CN", "请稍候，正在转接人工客服。"),
])
async def test_zero_at_the_language_menu_is_an_agent(
        hotline: PublishedPlan, line: str | None, hold: str) -> None:
    outcome, call, events = await walk(hotline, ["0"], language=line)
    assert outcome == Outcome("queued", "customer_service", 1)
    assert events.of("dtmf") == [{"digits": "0", "attempt": 1}]
    assert call.texts[-1] == hold


async def test_a_mandarin_line_hears_the_language_menu_then_mandarin(
        hotline: PublishedPlan) -> None:
    # Asterisk's channel language zh: the language menu plays in both languages (it used to
    # fail with KeyError), then a silent caller hears the Mandarin menu and an agent.
    outcome, call, _ = await walk(hotline, [None, None, None], language="zh-CN")
    assert outcome == Outcome("queued", "customer_service", 1)
    assert [(p.text, p.language) for p in call.played[1:3]] == [
        ("For English, press 1.", "en-US"), ("普通话请按2。", "zh-CN")]
    assert all(p.language == "zh-CN" for p in call.played[3:])


async def test_retries_exhausted_fall_back_to_an_agent(hotline: PublishedPlan) -> None:
    outcome, _, events = await walk(hotline, ["1", None, None, None])
    assert outcome.outcome == "queued" and outcome.queue == "customer_service"
    assert "retries_exhausted" in events.kinds()


async def test_on_a_holiday_agents_are_closed_but_cards_can_be_blocked(
        hotline: PublishedPlan) -> None:
    outcome, call, events = await walk(hotline, ["1", "0", "1"], now=CLOSED)
    assert outcome == Outcome("queued", "card_services", 7)
    assert events.of("hours") == [{"open": False}]
    assert any("not available today" in text for text in call.texts)
    outcome, _, _ = await walk(hotline, ["1", "0"], now=CLOSED)
    assert outcome == Outcome("self_served")  # told to call again; nobody to queue for
    outcome, _, events = await walk(hotline, ["1", "0"], now=OPEN)
    assert outcome == Outcome("queued", "customer_service", 1)
    assert events.of("hours") == [{"open": True}]


async def test_key_pressed_during_menu_prompt_barges_in(hotline: PublishedPlan) -> None:
    # The language menu plays English then Mandarin; pressing 1 during English skips the rest.
    outcome, call, _ = await walk(hotline, ["1", "0"])
    assert "普通话请按2。" not in call.texts
    assert outcome.queue == "customer_service"


SECRET_PLAN = """\
id: pin
languages: [en-US]
start: pin
nodes:
  pin:
    collect: {prompt: {en-US: "Enter your PIN."}, into: pin, min_length: 4, max_length: 6,
              pattern: "[0-9]+", secret: true}
    next: ok
  ok:
    hangup: {}
"""


async def test_secret_digits_never_reach_events() -> None:
    loaded, problems = load_text(SECRET_PLAN)
    assert loaded is not None, problems
    plan = PublishedPlan.compile(loaded.plan, 1)
    outcome, _, events = await walk(plan, ["12", "739155#"])
    assert outcome.outcome == "self_served"
    assert "739155" not in repr(events.events) and "12" not in repr(events.of("no_match"))
    assert events.of("collected") == [{"var": "pin", "secret": True}]


async def test_caller_hanging_up_is_abandoned_and_unknown_route_apologises(
        hotline: PublishedPlan) -> None:
    logs: dict[str, EventList] = {}
    runner = make_runner(hotline, lambda cid: logs.setdefault(cid, EventList()),
                         apology="Sorry.")
    gone = FakeCall(["1", "hangup"])
    await runner(gone)
    assert logs["fake0001"].row["outcome"] == "abandoned"

    from dataclasses import replace
    lost = FakeCall([])
    lost.info = replace(lost.info, call_id="fake0002", route="nosuchplan")
    await runner(lost)
    row = logs["fake0002"].row
    assert (row["outcome"], row["queue"], row["error_code"]) == (
        "queued", "customer_service", "agi-unknown-route")
    assert lost.texts == ["Sorry."] and lost.transferred is not None


async def test_database_down_means_apology_and_agent(hotline: PublishedPlan) -> None:
    log = EventList()
    runner = make_runner(hotline, lambda cid: log, store_healthy=False)
    call = FakeCall(["1", "3"])
    await runner(call)
    assert call.texts == ["Sorry, please hold."]
    assert call.transferred is not None and call.transferred.name == "customer_service"
    assert (log.row["outcome"], log.row["error_code"]) == ("queued", "store-unavailable")


async def test_a_crash_in_one_call_still_gives_the_caller_an_agent(hotline: PublishedPlan) -> None:
    class Broken(TextPrompts):
        async def prompt(self, text: str, language: str):  # type: ignore[no-untyped-def]
            if "how I can help" in text:
                raise RuntimeError("bug")
            return await super().prompt(text, language)

    log = EventList()
    runner = make_runner(hotline, lambda cid: log, prompts=Broken())
    call = FakeCall(["1"])
    await runner(call)
    assert call.texts[-1] == "Sorry, please hold."
    assert (log.row["outcome"], log.row["queue"], log.row["error_code"]) == (
        "queued", "customer_service", "flow-internal")
