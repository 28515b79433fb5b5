"""The security face: what the flow knows of caller verification (types only).

The flow's ``verify`` and ``change_phone`` nodes talk to a :class:`Verifier`;
``ivr.app`` wires :class:`ivr.security.service.VerificationService` behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class VerifyContext:
    """The call a verification step belongs to (for counters and the audit)."""

    call_id: str
    channel: str
    """The transport (``agi``, ``webrtc``…): where the attempt came from."""
    caller: str
    """Caller id as presented; empty when withheld."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Customers registered with the caller's number (none when withheld or unknown)."""

    candidates: tuple[str, ...]
    reason: str | None = None
    """Why nobody matched: ``withheld`` or ``not_registered``."""


@dataclass(frozen=True, slots=True)
class FactorResult:
    """One factor checked (or one code sent)."""

    outcome: str
    """``ok``, ``wrong``, ``expired``, ``locked``, ``sent``, ``limited`` or ``unavailable``."""
    customer_id: str | None = None
    locked_until: datetime | None = None
    """Set when the factor is locked (by this failure or earlier ones)."""
    has_pin: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    """Masked facts safe for events (e.g. ``{"to": "***4567"}``)."""


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """A sensitive change: ``applied``, ``review`` (rules fired), ``invalid`` or ``unavailable``."""

    outcome: str
    rules_fired: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


class Verifier(Protocol):
    """Checks factors, counts failures across calls, audits every attempt."""

    async def identify(self, ctx: VerifyContext) -> Identity: ...

    async def check(self, ctx: VerifyContext, candidates: tuple[str, ...], factor: str,
                    value: str) -> FactorResult:
        """``factor``: ``card_last4``, ``birth_date``, ``pin`` or ``otp``."""
        ...

    async def send_code(self, ctx: VerifyContext, customer_id: str) -> FactorResult: ...

    async def verified(self, ctx: VerifyContext, customer_id: str, level: str,
                       factors: list[str]) -> None: ...

    async def change_phone(self, ctx: VerifyContext, customer_id: str,
                           new_phone: str) -> ChangeResult: ...
