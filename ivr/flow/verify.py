"""The ``verify`` and ``change_phone`` nodes: who is calling, and sensitive changes.

The engine knows verification only through the ``Verifier`` protocol (the security face,
:mod:`ivr.security.api`); ``ivr.app`` wires the real one (``ivr.security.service``). Digits
the caller keys here are secrets: the recording is paused while they are keyed, and they
reach no event, log or exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ivr.errors import IvrError
from ivr.events import EventKind
from ivr.flow import schema
from ivr.security.api import ChangeResult, FactorResult, Verifier, VerifyContext

if TYPE_CHECKING:
    from ivr.flow.context import NodeContext, Outcome

_LOG = logging.getLogger(__name__)
LEVELS = {"none": 0, "basic": 1, "strong": 2}
T = TypeVar("T")


class _Unavailable(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


@dataclass
class _Step:
    """One run of a verify node on one call."""

    flow: NodeContext
    node_id: str
    spec: schema.Verify
    ctx: VerifyContext
    verifier: Verifier
    factors: list[str] = field(default_factory=list)

    async def backend(self, work: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.spec.backend_timeout):
                return await work
        except TimeoutError as err:
            raise _Unavailable("verify-timeout") from err
        except IvrError as err:
            _LOG.warning("%s: verification step failed: %s", err.code, err.message)
            raise _Unavailable(err.code) from err

    def event(self, kind: EventKind, **data: Any) -> None:
        self.flow.events.event(kind, node=self.node_id, **data)

    async def keyed(self, prompt: dict[str, str], reprompt: dict[str, str] | None,
                    max_digits: int) -> tuple[str, bool]:
        """Secret digits, with the recording paused while they are keyed."""
        flow = self.flow
        timeout = self.spec.timeout or flow.plan.defaults.timeout
        async with flow.recording.paused(self.node_id):
            return await flow.ask_once(self.node_id, prompt, reprompt, "",
                                       all_languages=False, max_digits=max_digits,
                                       timeout=timeout, secret=True)

    async def factor(self, factor: str, prompt: dict[str, str], lengths: tuple[int, int],
                     candidates: tuple[str, ...]) -> FactorResult | str:
        """Ask for one factor until it checks out; a node id when the step must end."""
        reprompt: dict[str, str] | None = None
        lo, hi = lengths
        for attempt in range(1, self.spec.attempts + 1):
            digits, no_input = await self.keyed(prompt, reprompt, hi + 1)
            if no_input or not (digits.isdigit() and lo <= len(digits) <= hi):
                # Mashed keys, a PIN too long or too short: not a guess, never reaches the
                # checker, but it uses up one of this call's tries.
                self.event(EventKind.VERIFY_INPUT, factor=factor, attempt=attempt,
                           problem="no_input" if no_input else "unusable")
                reprompt = self.spec.prompts.wrong
                continue
            result = await self.backend(self.verifier.check(self.ctx, candidates, factor, digits))
            del digits
            self.event(EventKind.VERIFY_FACTOR, factor=factor, outcome=result.outcome, attempt=attempt)
            if result.outcome == "ok":
                self.factors.append(factor)
                return result
            if result.outcome == "locked" or result.locked_until is not None:
                return self.locked(factor, result)
            if result.outcome == "unavailable":
                raise _Unavailable("verify-backend")
            reprompt = self.spec.prompts.wrong
        self.event(EventKind.VERIFY_RESULT, level=self.level(), outcome="failed", reason="attempts",
                   factor=factor)
        return self.spec.failed

    def locked(self, factor: str, result: FactorResult) -> str:
        until = result.locked_until.isoformat() if result.locked_until else None
        self.event(EventKind.VERIFY_LOCKED, factor=factor, until=until)
        self.event(EventKind.VERIFY_RESULT, level=self.level(), outcome="locked", factor=factor)
        return self.spec.locked

    def level(self) -> str:
        return str(self.flow.state.variables.get("verified_level", "none"))

    def reach(self, level: str, customer_id: str) -> None:
        self.flow.state.variables.update(verified_level=level, customer_id=customer_id)

    async def run(self) -> str:
        spec, variables = self.spec, self.flow.state.variables
        customer = variables.get("customer_id")
        if LEVELS[self.level()] < LEVELS["basic"] or not customer:
            ident = await self.backend(self.verifier.identify(self.ctx))
            self.factors.append("caller_id")
            if not ident.candidates:
                self.event(EventKind.VERIFY_RESULT, level="none", outcome="failed",
                           reason=ident.reason)
                return spec.failed
            lengths = (4, 4) if spec.knowledge == "card_last4" else (8, 8)
            got = await self.factor(spec.knowledge, spec.prompts.knowledge, lengths,
                                    ident.candidates)
            if isinstance(got, str):
                return got
            customer = str(got.customer_id)
            self.reach("basic", customer)
            has_pin = got.has_pin
        else:
            has_pin = bool(variables.get("verified_has_pin"))
        variables["verified_has_pin"] = has_pin
        if spec.level == "strong":
            end = await self.strong(customer, has_pin)
            if end is not None:
                return end
            self.reach("strong", customer)
        await self.backend(self.verifier.verified(self.ctx, customer, self.level(), self.factors))
        self.event(EventKind.VERIFY_RESULT, level=self.level(), outcome="verified",
                   factors=list(self.factors))
        return spec.verified

    async def strong(self, customer: str, has_pin: bool) -> str | None:
        spec, prompts = self.spec, self.spec.prompts
        if spec.strong in ("pin", "pin_or_otp") and has_pin and prompts.pin is not None:
            got = await self.factor("pin", prompts.pin, (spec.pin_min_length, spec.pin_max_length),
                                    (customer,))
            return got if isinstance(got, str) else None
        if spec.strong == "pin" or prompts.otp is None:
            self.event(EventKind.VERIFY_RESULT, level=self.level(), outcome="failed",
                       reason="no_pin")
            return spec.failed
        sent = await self.backend(self.verifier.send_code(self.ctx, customer))
        self.event(EventKind.OTP_SENT if sent.outcome == "sent" else EventKind.OTP_NOT_SENT,
                   outcome=sent.outcome, **sent.detail)
        if sent.outcome in ("limited", "locked"):
            return self.locked("otp_send", sent)
        if sent.outcome != "sent":
            raise _Unavailable("verify-otp-send")
        got = await self.factor("otp", prompts.otp, (spec.otp_length, spec.otp_length), (customer,))
        return got if isinstance(got, str) else None


def _context(ctx: NodeContext) -> VerifyContext:
    info = ctx.call.info
    return VerifyContext(call_id=info.call_id, channel=info.transport, caller=info.caller or "")


async def run_verify(ctx: NodeContext, node_id: str, spec: schema.Verify,
                     verifier: Verifier | None) -> str:
    """The verify node: the next node id for the result."""
    if LEVELS[str(ctx.state.variables.get("verified_level", "none"))] >= LEVELS[spec.level]:
        ctx.events.event(EventKind.VERIFY_RESULT, node=node_id, outcome="verified", already=True,
                         level=ctx.state.variables.get("verified_level", "none"))
        return spec.verified
    if verifier is None:
        ctx.events.event(EventKind.ERROR, node=node_id, code="verify-unavailable",
                         message="no verifier configured")
        return spec.unavailable or spec.failed
    step = _Step(ctx, node_id, spec, _context(ctx), verifier)
    try:
        return await step.run()
    except _Unavailable as err:
        step.event(EventKind.VERIFY_RESULT, level=step.level(), outcome="unavailable",
                   code=err.code)
        return spec.unavailable or spec.failed


async def run_change_phone(ctx: NodeContext, node_id: str, spec: schema.ChangePhone,
                           verifier: Verifier | None) -> str | Outcome:
    """The change_phone node: applied, sent to review, or refused."""
    state = ctx.state
    customer = state.variables.get("customer_id")
    new_phone = state.secrets.get(spec.new_phone) or state.variables.get(spec.new_phone)
    if state.variables.get("verified_level") != "strong" or not customer or verifier is None:
        ctx.events.event(EventKind.RISK_DECISION, node=node_id, action="change_phone",
                         outcome="refused", reason="not_verified_strong")
        return spec.failed
    if not new_phone:
        ctx.events.event(EventKind.RISK_DECISION, node=node_id, action="change_phone",
                         outcome="invalid", reason="no_number")
        return spec.failed
    result = ChangeResult("unavailable")
    with contextlib.suppress(TimeoutError, IvrError):
        async with asyncio.timeout(10.0):
            result = await verifier.change_phone(_context(ctx), str(customer), str(new_phone))
    ctx.events.event(EventKind.RISK_DECISION, node=node_id, action="change_phone",
                     outcome=result.outcome, rules_fired=list(result.rules_fired),
                     reasons=list(result.reasons))
    if result.reasons:
        state.variables["review_reasons"] = "; ".join(result.reasons)
    return {"applied": spec.changed, "review": spec.review}.get(result.outcome, spec.failed)
