"""Callers walking the hotline's account services on FakeCall, with real verification on
SQLite and PostgreSQL: who gets through, who is locked out, who is sent to review."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from security_harness import OPEN, Bench

from ivr.audit import AuditLog
from ivr.errors import CallHangup
from ivr.flow.engine import Outcome
from ivr.security.api import FactorResult, VerifyContext
from ivr.telephony.call import DtmfResult, Prompt
from ivr.testing.fake_call import FakeCall

ENGLISH, ACCOUNT, BALANCE, CHANGE = "1", "5", "1", "2"
ADA_CARD, ADA_PIN = "4242", "2580"
AGENT = Outcome("queued", "customer_service", 1)


def results(events: Any) -> list[dict[str, Any]]:
    return events.of("verify_result")


async def audit_rows(bench: Bench, action: str = "") -> list[Any]:
    return await AuditLog(bench.service.customers._engine).list(limit=500, action=action or None)


async def test_registered_caller_with_the_right_card_hears_account_services(bench: Bench) -> None:
    outcome, call, events = await bench.walk([ENGLISH, ACCOUNT, BALANCE, ADA_CARD, "1"])
    assert outcome == Outcome("self_served")
    assert any(t.startswith("Thank you, you are verified.") for t in call.texts)
    assert results(events)[-1] == {"level": "basic", "outcome": "verified",
                                   "factors": ["caller_id", "card_last4"]}
    rows = await audit_rows(bench, "verify.")
    assert [(r.action, r.outcome, r.subject) for r in rows] == [
        ("verify.success", "ok", "C1001"), ("verify.card_last4", "ok", "C1001")]
    assert rows[0].details["level"] == "basic" and rows[0].channel == "fake"


async def test_withheld_or_unknown_caller_id_is_never_enough(bench: Bench) -> None:
    for caller in (None, "anonymous", "+15550000000"):
        outcome, call, events = await bench.walk([ENGLISH, ACCOUNT, BALANCE, ADA_CARD],
                                                 caller=caller)
        assert outcome == AGENT, caller
        assert "Sorry, we could not confirm your identity. Let me connect you to an agent." \
            in call.texts
        # The card was never even asked for: nobody to check it against.
        assert not any("last four digits" in t for t in call.texts)
        assert results(events)[-1]["outcome"] == "failed"
    reasons = [r.reason for r in await audit_rows(bench, "verify.caller_id")]
    assert sorted(reasons) == ["not_registered", "withheld", "withheld"]


async def test_right_pin_then_phone_change_is_applied_then_a_second_goes_to_review(
        bench: Bench) -> None:
    outcome, call, events = await bench.walk(
        [ENGLISH, ACCOUNT, CHANGE, ADA_CARD, ADA_PIN + "#", "15559876543#", "1"])
    assert outcome == Outcome("self_served")
    assert "Your registered phone number has been changed." in " ".join(call.texts)
    assert results(events)[-1]["factors"] == ["caller_id", "card_last4", "pin"]
    assert events.of("risk_decision") == [{"action": "change_phone", "outcome": "applied",
                                          "rules_fired": [], "reasons": []}]
    ada = await bench.service.customers.get("C1001")
    assert ada is not None and ada.phone == "+15559876543"
    # Calling again from the new phone: a change within 30 days goes to human review.
    bench.clock.advance(days=2)
    outcome, call, events = await bench.walk(
        [ENGLISH, ACCOUNT, CHANGE, ADA_CARD, ADA_PIN + "#", "15551112222#"],
        caller="+15559876543")
    assert outcome == Outcome("queued", "phone_change_review", 3)
    decision = events.of("risk_decision")[0]
    assert decision["outcome"] == "review" and decision["rules_fired"] == ["phone.recent_change"]
    ada = await bench.service.customers.get("C1001")
    assert ada is not None and ada.phone == "+15559876543"  # unchanged
    change = (await audit_rows(bench, "phone.change"))[0]
    assert change.outcome == "review" and change.details["rules_fired"] == ["phone.recent_change"]
    assert change.details["new"] == "***2222" and "30 days" in (change.reason or "")


async def test_change_from_another_phone_or_after_a_lockout_goes_to_review(bench: Bench) -> None:
    # Grace's card is right but she is calling from Ada's phone: she is not even identified.
    # Ada locks her PIN on one call, then gets it right on a later one: review, with reasons.
    await bench.walk([ENGLISH, ACCOUNT, CHANGE, ADA_CARD, "1111#", "2222#", "3333#"])
    bench.clock.advance(minutes=16)
    outcome, _, events = await bench.walk(
        [ENGLISH, ACCOUNT, CHANGE, ADA_CARD, ADA_PIN + "#", "15559876543#"])
    assert outcome.queue == "phone_change_review"
    assert events.of("risk_decision")[0]["rules_fired"] == ["phone.recent_lockout"]


async def test_three_wrong_pins_across_calls_lock_the_pin_and_offer_an_agent(
        bench: Bench) -> None:
    outcome, call, events = await bench.walk(
        [ENGLISH, ACCOUNT, CHANGE, ADA_CARD, "1111#", "2222#", "hangup"])
    assert outcome == Outcome("abandoned")
    outcome, call, events = await bench.walk([ENGLISH, ACCOUNT, CHANGE, ADA_CARD, "3333#"])
    assert outcome == AGENT
    assert "For your security, this check is paused for a while after too many attempts. " \
           "Let me connect you to an agent." in call.texts
    assert events.of("verify_locked")[0]["factor"] == "pin"
    # Even the right PIN is refused while locked, and it is not checked at all.
    outcome, call, events = await bench.walk([ENGLISH, ACCOUNT, CHANGE, ADA_CARD, ADA_PIN + "#"])
    assert outcome == AGENT
    assert [e["outcome"] for e in events.of("verify_factor")] == ["ok", "locked"]
    lockouts = await audit_rows(bench, "verify.lockout")
    assert len(lockouts) == 1 and lockouts[0].subject == "C1001"
    # Fifteen minutes later the right PIN works again.
    bench.clock.advance(minutes=15, seconds=1)
    outcome, _, events = await bench.walk([ENGLISH, ACCOUNT, CHANGE, ADA_CARD, ADA_PIN + "#",
                                           "hangup"])
    assert results(events)[-1]["level"] == "strong"


async def test_concurrent_calls_racing_the_lockout_get_three_guesses_in_total(
        bench: Bench) -> None:
    wrong = [f"{1000 + i}#" for i in range(3)]
    walks = [bench.walk([ENGLISH, ACCOUNT, CHANGE, ADA_CARD, *wrong]) for _ in range(8)]
    done = await asyncio.gather(*walks)
    checked = [e for _, _, ev in done for e in ev.of("verify_factor")
               if e["outcome"] == "wrong" and e["factor"] == "pin"]
    assert len(checked) <= 3
    assert all(outcome == AGENT for outcome, _, _ in done)
    failures = [r for r in await audit_rows(bench, "verify.pin") if r.outcome == "failed"]
    assert len(failures) == len(checked) == 3


async def test_mashed_keys_and_a_too_long_pin_are_not_guesses(bench: Bench) -> None:
    outcome, call, events = await bench.walk(
        [ENGLISH, ACCOUNT, CHANGE, "*#*#", ADA_CARD, "1234567#", "*#", ADA_PIN + "#", "hangup"])
    problems = [(e["factor"], e["problem"]) for e in events.of("verify_input")]
    assert problems == [("card_last4", "unusable"), ("pin", "unusable"), ("pin", "unusable")]
    assert results(events)[-1]["level"] == "strong"
    assert not [r for r in await audit_rows(bench, "verify.pin") if r.outcome == "failed"]
    # Three unusable answers in a row end the step (to an agent), without any lock.
    outcome, call, events = await bench.walk(
        [ENGLISH, ACCOUNT, CHANGE, ADA_CARD, "*#", "12345678#", None])
    assert outcome == AGENT and not events.of("verify_locked")


class PhoneReader(FakeCall):
    """A caller who reads the code off their phone (the embedded outbox log) when asked."""

    bench: Bench
    codes: list[str]

    async def collect_dtmf(self, prompt: Prompt | None, *, max_digits: int, timeout: float,
                           terminator: str = "#", secret: bool = False) -> DtmfResult:
        if self.script and self.script[0] in ("<code>", "<late code>", "<old code>"):
            lines = (self.bench.var_dir / "otp-outbox.log").read_text().splitlines()
            self.codes.append(json.loads(lines[-1])["body"].split("code is ")[1][:6])
            mark = self.script.pop(0)
            if mark == "<late code>":
                self.bench.clock.advance(minutes=5, seconds=1)
            self.script.insert(0, (self.codes[-2] if mark == "<old code>" else
                                   self.codes[-1]) + "#")
        return await super().collect_dtmf(prompt, max_digits=max_digits, timeout=timeout,
                                          terminator=terminator, secret=secret)


async def walk_grace(bench: Bench, script: list[str | None], codes: list[str]) -> Any:
    from dataclasses import replace

    from ivr.flow.engine import FlowEngine
    from ivr.testing.fakes import EventList, TextPrompts

    bench.calls += 1
    call = PhoneReader(list(script))
    call.bench, call.codes = bench, codes
    call.info = replace(call.info, caller="+15557654321", call_id=f"grace{bench.calls}")
    events = EventList()
    engine = FlowEngine(call, bench.plan, TextPrompts(), events, default_queue="customer_service",
                        clock=lambda: OPEN, verifier=bench.service)
    try:
        return await engine.run(), call, events
    except CallHangup:
        return Outcome("abandoned"), call, events


async def test_customer_without_pin_gets_a_one_time_code(bench: Bench) -> None:
    codes: list[str] = []
    outcome, call, events = await walk_grace(
        bench, [ENGLISH, ACCOUNT, CHANGE, "5100", "<code>", "hangup"], codes)
    assert "We have sent a six digit code by text message to your registered phone. " \
           "Please enter it now." in call.texts
    assert events.of("otp_sent") == [{"outcome": "sent", "to": "***4321", "expires_in": 300.0}]
    assert results(events)[-1] == {"level": "strong", "outcome": "verified",
                                   "factors": ["caller_id", "card_last4", "otp"]}
    # The log file stands in for the phone: private to the server's user.
    assert (bench.var_dir / "otp-outbox.log").stat().st_mode & 0o777 == 0o600


async def test_a_used_or_expired_code_does_not_work(bench: Bench) -> None:
    codes: list[str] = []
    await walk_grace(bench, [ENGLISH, ACCOUNT, CHANGE, "5100", "<code>", "hangup"], codes)
    # Next call: a new code is sent; the caller keys the old (used) one, then lets the new one
    # expire and keys it anyway, twice: that is three failures, and codes lock.
    outcome, call, events = await walk_grace(
        bench, [ENGLISH, ACCOUNT, CHANGE, "5100", "<old code>", "<late code>", "<code>"], codes)
    assert [e["outcome"] for e in events.of("verify_factor") if e["factor"] == "otp"] == [
        "wrong", "expired", "expired"]
    assert results(events)[-1]["outcome"] == "locked" and outcome == AGENT
    # Locked codes are not even sent again on the next call.
    outcome, _, events = await walk_grace(bench, [ENGLISH, ACCOUNT, CHANGE, "5100"], codes)
    assert events.of("otp_not_sent") == [{"outcome": "locked"}] and outcome == AGENT


async def test_code_sends_are_rate_limited(bench: Bench) -> None:
    codes: list[str] = []
    for _ in range(3):
        await walk_grace(bench, [ENGLISH, ACCOUNT, CHANGE, "5100", "hangup"], codes)
    outcome, call, events = await walk_grace(bench, [ENGLISH, ACCOUNT, CHANGE, "5100"], codes)
    assert outcome == AGENT
    assert events.of("otp_not_sent") == [{"outcome": "limited"}]
    assert events.of("verify_locked")[0]["factor"] == "otp_send"
    assert len((bench.var_dir / "otp-outbox.log").read_text().splitlines()) == 3


class SlowBackend:
    """A verifier whose database answers identification, then hangs on every check."""

    def __init__(self, real: Any) -> None:
        self.real = real

    async def identify(self, ctx: VerifyContext) -> Any:
        return await self.real.identify(ctx)

    async def check(self, ctx: VerifyContext, candidates: tuple[str, ...], factor: str,
                    value: str) -> FactorResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send_code(self, ctx: VerifyContext, customer_id: str) -> FactorResult:
        raise AssertionError("unreachable")

    async def verified(self, ctx: VerifyContext, customer_id: str, level: str,
                       factors: list[str]) -> None: ...

    async def change_phone(self, ctx: VerifyContext, customer_id: str, new_phone: str) -> Any:
        raise AssertionError("unreachable")


async def test_backend_timing_out_mid_verification_sends_the_caller_to_an_agent(
        bench: Bench) -> None:
    from ivr.flow.engine import PublishedPlan

    plan = bench.plan.plan
    node = plan.nodes["verify_basic"]
    assert node.verify is not None
    fast = node.model_copy(update={"verify": node.verify.model_copy(
        update={"backend_timeout": 0.2})})
    bench.plan = PublishedPlan.compile(plan.model_copy(
        update={"nodes": {**plan.nodes, "verify_basic": fast}}), 2)
    outcome, call, events = await bench.walk([ENGLISH, ACCOUNT, BALANCE, ADA_CARD],
                                             verifier=SlowBackend(bench.service))
    assert outcome == AGENT
    assert "Sorry, we cannot check your identity right now. Let me connect you to an agent." \
        in call.texts
    assert results(events)[-1] == {"level": "none", "outcome": "unavailable",
                                   "code": "verify-timeout"}
