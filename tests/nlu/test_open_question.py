"""The hotline's open question, end to end: words -> intent -> verify -> platform action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from voice_harness import ScriptedListener

from ivr.flow.engine import FlowEngine, Outcome, PublishedPlan
from ivr.flow.loader import load_text
from ivr.flow.voice import VoiceConfig
from ivr.nlu.api import Understander
from ivr.nlu.classifier import IntentClassifier
from ivr.nlu.understander import IntentUnderstander
from ivr.platform.api import ActionRequest, ActionResult, PlatformError
from ivr.platform.demo import DemoPlatform
from ivr.platform.seed import seed_demo
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.security.service import VerificationService
from ivr.security.settings import PinSettings, SecuritySettings
from ivr.security.wiring import make_notifier
from ivr.store.db import make_engine
from ivr.store.models import CardRow
from ivr.testing.fake_call import FakeCall
from ivr.testing.fakes import EventList, TextPrompts

ROOT = Path(__file__).resolve().parents[2]

OPEN = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
HOTLINE = (ROOT / "dialplans" / "hotline.yaml").read_text(encoding="utf-8")


def compile_plan(text: str = HOTLINE) -> PublishedPlan:
    loaded, problems = load_text(text)
    assert loaded is not None, problems
    return PublishedPlan.compile(loaded.plan, 1)


class DownPlatform:
    async def perform(self, request: ActionRequest) -> ActionResult:
        raise PlatformError("platform-unavailable", "connection refused")


@dataclass
class World:
    engine: AsyncEngine
    service: VerificationService
    understander: IntentUnderstander

    async def walk(self, keys: list[str | None], said: list[str | None], *,
                   caller: str = "+15551234567", plan: PublishedPlan | None = None,
                   platform: object = None, understander: Understander | None = None,
                   ) -> tuple[Outcome, FakeCall, EventList]:
        call = FakeCall(list(keys))
        call.info = replace(call.info, caller=caller)
        events = EventList()
        voice = VoiceConfig(listener=ScriptedListener(list(said)),
                            understander=understander or self.understander,
                            intent_bands=self.understander.bands)
        engine = FlowEngine(call, plan or compile_plan(), TextPrompts(), events,
                            default_queue="customer_service", clock=lambda: OPEN,
                            verifier=self.service, voice=voice,
                            platform=platform or DemoPlatform(self.engine))  # type: ignore[arg-type]
        return await engine.run(), call, events


@pytest.fixture
async def world(db_url: str, tmp_path: Path, classifier: IntentClassifier,
                ) -> AsyncIterator[World]:
    engine = make_engine(db_url)
    settings = SecuritySettings(pin=PinSettings(time_cost=1, memory_kib=8192))
    pins = PinHasher(settings.pin)
    service = VerificationService(engine, settings,
                                  make_notifier(settings, engine, tmp_path / "var"), pins=pins)
    await seed(CustomerRepository(engine), pins)
    await seed_demo(engine)
    try:
        yield World(engine, service, IntentUnderstander(classifier))
    finally:
        await engine.dispose()


async def test_lost_card_by_voice_is_blocked_after_read_back(world: World) -> None:
    outcome, call, events = await world.walk(["1", "6", "4242", "1"], ["i lost my card", "yes"])
    assert outcome == Outcome("self_served")
    assert [e["intent"] for e in events.of("intent")] == ["card_lost"]
    assert any("I will block your card now" in t for t in call.texts)
    assert any("ending four two four two is blocked" in t for t in call.texts)
    async with world.engine.connect() as conn:
        status = (await conn.execute(select(CardRow.status).where(
            CardRow.customer_id == "C1001"))).scalar_one()
    assert status == "blocked"


async def test_saying_no_to_the_read_back_changes_nothing(world: World) -> None:
    outcome, call, events = await world.walk(["1", "6", "4242", "1"], ["my card was stolen", "no"])
    assert outcome == Outcome("self_served")
    assert events.of("action")[-1]["outcome"] == "declined"
    async with world.engine.connect() as conn:
        status = (await conn.execute(select(CardRow.status).where(
            CardRow.customer_id == "C1001"))).scalar_one()
    assert status == "active"


async def test_balance_is_told_only_after_verification(world: World) -> None:
    outcome, call, _ = await world.walk(["1", "6", "4242", "1"], ["what's my balance"])
    assert outcome == Outcome("self_served")
    assert any(t.startswith("Your balance is 2450.75 USD") for t in call.texts)
    outcome, call, _ = await world.walk(["1", "6", "1111", "1111", "1111"], ["what's my balance"])
    assert outcome.queue == "customer_service"
    assert not any("Your balance" in t for t in call.texts)


async def test_a_mandarin_balance_is_played_clause_by_clause_and_logged_whole(
        world: World) -> None:
    # The caller hears the first clause while the second renders; the transcript has the
    # sentence as one prompt.
    outcome, call, events = await world.walk(["2", "6", "4242", "1"], ["我要查账户余额"])
    assert outcome == Outcome("self_served")
    answer = next(t for t in (e["text"] for e in events.of("prompt")) if "余额为" in t)
    assert answer == "您的账户余额为2450.75USD，其中可用余额2250.75USD。"
    at = call.texts.index("您的账户余额为2450.75USD，")
    assert call.texts[at + 1] == "其中可用余额2250.75USD。"
    assert answer not in call.texts


async def test_transaction_id_in_the_question_is_used(world: World) -> None:
    outcome, call, events = await world.walk(
        ["1", "6", "4242", "1"], ["um my withdrawal tx10003 from three days ago hasn't come through"])
    assert outcome == Outcome("self_served")
    assert events.of("intent")[0]["entities"] == ["date", "transaction_id"]
    assert any("60.00 USD to ATM 5th Avenue" in t and "is failed" in t for t in call.texts)


async def test_mandarin_caller_blocks_a_card(world: World) -> None:
    outcome, call, events = await world.walk(["2", "6", "8888", "1"], ["喂你好 我的卡丢了 帮我冻结一下",
                                                                "是的"],
                                             caller="+8613800138000")
    assert outcome == Outcome("self_served")
    assert events.of("intent")[0]["intent"] == "card_lost"
    assert any("尾号八八八八的银行卡已冻结" in t for t in call.texts)


async def test_english_on_the_mandarin_menu_is_asked_again_then_the_keypad(world: World) -> None:
    outcome, call, events = await world.walk(["2"], ["I lost my card", "I lost my card please"],
                                             caller="+8613800138000")
    assert [(e["intent"], e.get("reason")) for e in events.of("intent")] == [
        ("unknown", "language")] * 2  # never guessed from English words on a Mandarin line
    assert events.of("keypad_fallback") and outcome.queue == "customer_service"
    assert any(t.startswith("抱歉") for t in call.texts)  # the polite apology, in Mandarin


async def test_a_homophone_from_the_recogniser_still_finds_the_balance(world: World) -> None:
    """余额 heard as 鱼饿 (same sounds, other characters): pinyin features still match."""
    outcome, call, events = await world.walk(["2"], ["查一下鱼饿"],
                                             caller="+8613800138000")
    assert events.of("intent")[0]["intent"] == "balance"


async def test_fraud_and_complaints_go_to_their_queues(world: World) -> None:
    outcome, _, _ = await world.walk(["1", "6"], ["someone used my card without permission"])
    assert outcome == Outcome("queued", "fraud_desk", 8)
    outcome, _, _ = await world.walk(["2", "6"], ["我要投诉你们的客服"], caller="+8613800138000")
    assert outcome == Outcome("queued", "senior_agents", 2)


async def test_not_understood_twice_then_keypad_then_agent(world: World) -> None:
    outcome, call, events = await world.walk(["1", "6", "3"], ["what's the weather like",
                                                         "order a pizza", "blah blah"])
    assert outcome == Outcome("queued", "card_services", 7)
    assert [e["band"] for e in events.of("intent")] == ["reject"] * 3
    assert "keypad_fallback" in events.kinds()
    outcome, _, events = await world.walk(["1", "6", None], ["tell me a joke", None, "hmm"])
    assert outcome.queue == "customer_service" and "retries_exhausted" in events.kinds()


async def test_unsure_answers_are_confirmed_by_voice_or_keys(world: World) -> None:
    unsure = compile_plan(HOTLINE.replace("      intents:\n        payment_status",
                                          "      confirm_below: 0.999\n      intents:\n"
                                          "        payment_status", 1))
    outcome, call, events = await world.walk(["1", "6"], ["i lost my card", "no", "agent please",
                                                     "key:1"], plan=unsure)
    assert outcome.queue == "customer_service"
    assert any(t.startswith("Did you mean that you lost your card?") for t in call.texts)
    assert [e["band"] for e in events.of("intent")] == ["confirm", "confirm"]
    assert events.kinds().count("not_confirmed") == 1 and "confirmed" in events.kinds()


async def test_platform_down_means_apology_and_a_queue(world: World) -> None:
    outcome, call, events = await world.walk(["1", "6", "4242"], ["how much money do i have"],
                                             platform=DownPlatform())
    assert outcome == Outcome("queued", "customer_service", 2)
    assert any("our systems are not answering" in t for t in call.texts)
    assert events.of("action")[-1]["code"] == "platform-unavailable"


async def test_without_a_model_the_question_falls_back_to_the_keypad(world: World) -> None:
    from ivr.nlu.phrases import PhraseMatcher

    outcome, _, events = await world.walk(["1", "6", "3"], ["i lost my card"] * 3,
                                          understander=PhraseMatcher())
    assert outcome == Outcome("queued", "card_services", 7)
    assert "keypad_fallback" in events.kinds()


async def test_mandarin_caller_hears_the_payment_status_in_mandarin(world: World) -> None:
    """The platform's codes (``pending``, ``transfer``) are said as Mandarin words."""
    outcome, call, events = await world.walk(["2", "6", "8888", "1"], ["我转账的钱还没到账"],
                                             caller="+8613800138000")
    assert events.of("intent")[0]["intent"] == "payment_status"
    said = [t for t in call.texts if "当前状态" in t]
    assert said and "处理中" in said[0] and "转账" in said[0], call.texts
    assert not any(word in said[0] for word in ("pending", "transfer", "completed"))
