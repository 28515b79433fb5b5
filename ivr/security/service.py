"""``VerificationService``: the flow's ``Verifier`` over the store, KDF, counters and notifier.

Every attempt, success, failure, lockout and sensitive change is an audit row; none carries
what the caller keyed in. Customers are named by id; phones appear masked.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.audit import AuditLog
from ivr.security.api import ChangeResult, FactorResult, Identity, VerifyContext
from ivr.security.audit import VerificationAudit
from ivr.security.customers import Customer, CustomerRepository
from ivr.security.lockout import AttemptCounter, Claim
from ivr.security.masking import mask_phone
from ivr.security.notifier import Notifier, NotifyError, OtpMessage
from ivr.security.otp import OtpStore
from ivr.security.phones import is_withheld, normalise
from ivr.security.pins import PinHasher
from ivr.security.risk import RiskFacts, evaluate
from ivr.security.settings import SecuritySettings

KNOWLEDGE = ("card_last4", "birth_date")


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


class VerificationService:
    """Implements ``ivr.flow.verify.Verifier``."""

    def __init__(self, engine: AsyncEngine, settings: SecuritySettings, notifier: Notifier, *,
                 pins: PinHasher | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.customers = CustomerRepository(engine)
        self.counter = AttemptCounter(engine)
        self.codes = OtpStore(engine, settings.otp)
        self.pins = pins or PinHasher(settings.pin)
        self.notifier = notifier
        self.audit = VerificationAudit(AuditLog(engine))
        self.clock = clock

    async def identify(self, ctx: VerifyContext) -> Identity:
        """Customers registered with the caller id; withheld never matches anyone."""
        phone = None if is_withheld(ctx.caller) else normalise(ctx.caller,
                                                                self.settings.default_region)
        found = await self.customers.by_phone(phone) if phone else []
        if found:
            return Identity(tuple(c.id for c in found))
        reason = "withheld" if is_withheld(ctx.caller) else "not_registered"
        await self.audit.record("verify.caller_id", "failed", customer_id=None,
                                call_id=ctx.call_id, channel=ctx.channel, reason=reason,
                                caller=mask_phone(ctx.caller) if phone else reason)
        return Identity((), reason)

    async def _claim(self, customer_id: str, factor: str) -> Claim:
        lk = self.settings.lockout
        return await self.counter.claim(customer_id, factor, limit=lk.max_failures,
                                        window=lk.window_seconds, lock=lk.lock_seconds,
                                        now=self.clock())

    async def _matches(self, customer: Customer, factor: str, value: str) -> str:
        if factor == "card_last4":
            hit = any(_same(c.last4, value) for c in customer.cards if c.status == "active")
            return "ok" if hit else "wrong"
        if factor == "birth_date":
            return "ok" if _same(customer.birth_date, value) else "wrong"
        if factor == "pin":
            return "ok" if await self.pins.verify(customer.pin_hash, value) else "wrong"
        if factor == "otp":
            result = await self.codes.redeem(customer.id, value, now=self.clock())
            return {"none": "wrong"}.get(result, result)
        raise ValueError(f"unknown factor {factor!r}")

    async def check(self, ctx: VerifyContext, candidates: tuple[str, ...], factor: str,
                    value: str) -> FactorResult:
        """Claim an attempt per candidate, check, then reset (ok) or keep the failure."""
        claims: dict[str, Claim] = {}
        for customer_id in candidates:
            claims[customer_id] = await self._claim(customer_id, factor)
        allowed = [cid for cid, c in claims.items() if c.allowed]
        audit = {"call_id": ctx.call_id, "channel": ctx.channel}
        if not allowed:
            until = max((c.locked_until for c in claims.values() if c.locked_until), default=None)
            for cid in candidates:
                await self.audit.record(f"verify.{factor}", "locked", customer_id=cid, **audit,
                                        reason="factor locked", factor=factor)
            return FactorResult("locked", locked_until=until)
        outcome, customer = "wrong", None
        for cid in allowed:
            found = await self.customers.get(cid)
            if found is None:
                continue
            outcome = await self._matches(found, factor, value)
            if outcome == "ok":
                customer = found
                break
        if customer is not None:
            await self.counter.reset(customer.id, factor, self.clock())
            await self.audit.record(f"verify.{factor}", "ok", customer_id=customer.id, **audit,
                                    factor=factor, attempt=claims[customer.id].count)
            return FactorResult("ok", customer.id, has_pin=customer.has_pin)
        locked = [cid for cid in allowed if claims[cid].last]
        for cid in allowed:
            await self.audit.record(f"verify.{factor}", "failed", customer_id=cid, **audit,
                                    reason=outcome, factor=factor, attempt=claims[cid].count)
        for cid in locked:
            await self.counter.note_lock(cid, factor, self.clock())
            await self.audit.record("verify.lockout", "locked", customer_id=cid, **audit,
                                    reason=f"{self.settings.lockout.max_failures} failed "
                                    f"{factor} attempts", factor=factor,
                                    until=str(claims[cid].locked_until))
        until = claims[locked[0]].locked_until if len(locked) == len(allowed) else None
        return FactorResult(outcome, locked_until=until)

    async def send_code(self, ctx: VerifyContext, customer_id: str) -> FactorResult:
        """A fresh one-time code to the registered phone, unless sends are used up."""
        now, otp = self.clock(), self.settings.otp
        audit = {"customer_id": customer_id, "call_id": ctx.call_id, "channel": ctx.channel}
        locked = await self.counter.locked(customer_id, now)
        if "otp" in locked:
            await self.audit.record("verify.otp_send", "locked", **audit, reason="otp locked")
            return FactorResult("locked", locked_until=locked["otp"])
        claim = await self.counter.claim(customer_id, "otp_send", limit=otp.max_sends,
                                         window=otp.send_window_seconds,
                                         lock=otp.send_window_seconds, now=now)
        if not claim.allowed:
            await self.audit.record("verify.otp_send", "limited", **audit,
                                    reason=f"more than {otp.max_sends} codes in "
                                    f"{otp.send_window_seconds:g} s")
            return FactorResult("limited", locked_until=claim.locked_until)
        customer = await self.customers.get(customer_id)
        if customer is None:
            return FactorResult("unavailable")
        issued = await self.codes.issue(customer_id, now=now, call_id=ctx.call_id)
        minutes = max(1, round(otp.ttl_seconds / 60))
        body = (f"{otp.sender}: your verification code is {issued.code}. It expires in "
                f"{minutes} minutes. We will never ask you to tell it to anyone.")
        try:
            async with asyncio.timeout(otp.gateway_timeout + 1):
                await self.notifier.send(OtpMessage(customer_id, customer.phone, body,
                                                    issued.expires_at, issued.otp_id, now))
        except (NotifyError, TimeoutError) as err:
            code = err.code if isinstance(err, NotifyError) else "notify-timeout"
            await self.audit.record("verify.otp_send", "failed", **audit, reason=code)
            return FactorResult("unavailable")
        to = mask_phone(customer.phone)
        await self.audit.record("verify.otp_send", "sent", **audit, to=to)
        return FactorResult("sent", customer_id, detail={"to": to,
                                                         "expires_in": otp.ttl_seconds})

    async def verified(self, ctx: VerifyContext, customer_id: str, level: str,
                       factors: list[str]) -> None:
        await self.audit.record("verify.success", "ok", customer_id=customer_id,
                                call_id=ctx.call_id, channel=ctx.channel, level=level,
                                factors=factors)

    async def change_phone(self, ctx: VerifyContext, customer_id: str,
                           new_phone: str) -> ChangeResult:
        """Risk rules first; any rule firing sends the change to review instead."""
        now, region = self.clock(), self.settings.default_region
        audit = {"customer_id": customer_id, "call_id": ctx.call_id, "channel": ctx.channel}
        customer = await self.customers.get(customer_id)
        # Keyed on a phone keypad: digits only, country code first (the prompt asks for it).
        phone = normalise("+" + new_phone if new_phone.isdigit() else new_phone, region)
        if customer is None or phone is None or phone == customer.phone:
            reason = "unknown customer" if customer is None else (
                "not a phone number" if phone is None else "same as the registered phone")
            await self.audit.record("phone.change", "invalid", **audit, reason=reason)
            return ChangeResult("invalid", reasons=(reason,))
        rules = self.settings.risk_rules
        lookback = max([r.hours for r in rules] + [24.0])
        history = await self.customers.phone_changes(customer_id)
        applied = [c.at for c in history if c.status == "applied"]
        facts = RiskFacts(
            now=now, last_change=max(applied, default=None),
            attempts=[c.at for c in history if c.at >= now - timedelta(hours=lookback)] + [now],
            caller_matches=normalise(ctx.caller, region) == customer.phone,
            last_lockout=await self.counter.last_lock(customer_id))
        decision = evaluate("change_phone", rules, facts)
        status = "review" if decision.review else "applied"
        await self.customers.record_phone_change(
            customer, phone, status=status, rules_fired=list(decision.fired),
            reasons=list(decision.reasons), call_id=ctx.call_id, channel=ctx.channel, now=now)
        await self.audit.record("phone.change", status, **audit,
                                reason="; ".join(decision.reasons) or None,
                                rules_fired=list(decision.fired), old=mask_phone(customer.phone),
                                new=mask_phone(phone))
        return ChangeResult(status, decision.fired, decision.reasons)
