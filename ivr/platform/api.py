"""The ``Platform`` interface the flow's ``action`` node calls (types only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ivr.errors import IvrError

ACTIONS = ("fee_quote", "payment_status", "refund_status", "balance", "block_card")
"""fee_quote needs no customer; the others act for the verified customer."""


class PlatformError(IvrError):
    """The backend is down, slow, refusing, or the breaker is open: the caller hears an
    apology and is queued."""

    area = "platform"


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One self-service action for one call."""

    action: str
    """One of ACTIONS."""
    params: Mapping[str, str] = field(default_factory=dict)
    """``transaction_id``, ``amount``, ``currency``, ``kind``, ``card_last4``, ``date``…"""
    customer_id: str | None = None
    """The verified customer (None: nobody verified)."""
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What the platform answered: an outcome and values safe to speak and store."""

    outcome: str
    """``ok``, ``not_found``, ``ambiguous``, ``invalid`` or ``refused``."""
    values: Mapping[str, str] = field(default_factory=dict)
    """Speakable strings (amounts as ``12.50``, dates as ``2026-11-24``, cards as last four)."""


class Platform(Protocol):
    """A payment platform; raises PlatformError when it cannot answer."""

    async def perform(self, request: ActionRequest) -> ActionResult: ...
