"""Phone-number changes the risk rules sent to review, and a reviewer's decision on them.

``VerificationService.change_phone`` stores a change with status ``review`` when any rule
fires (the customer's phone stays as it was). A reviewer approves it (status ``applied``: the
registered phone changes in the same transaction, and later risk checks count it as the last
change) or rejects it (status ``rejected``: nothing else changes). A change is decided once:
two reviewers deciding at the same time get one decision and one clear refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.errors import IvrError, StoreError
from ivr.security.masking import abbreviate_name, mask_phone
from ivr.store.models import CustomerRow, PhoneChangeRow

PENDING = "review"
DECISIONS = {"approve": "applied", "reject": "rejected"}


class ReviewError(IvrError):
    """``review-unknown`` (no such change), ``review-decided`` (already decided),
    ``review-stale`` (the registered phone changed since the request)."""

    area = "security"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A phone change as a reviewer sees it: numbers masked to their last 4 digits."""

    id: int
    at: datetime
    customer_id: str
    customer_name: str
    old_phone: str
    new_phone: str
    status: str
    rules_fired: list[str]
    reasons: list[str]
    call_id: str | None
    channel: str | None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "customer_id": self.customer_id,
                "customer": self.customer_name, "old_phone": self.old_phone,
                "new_phone": self.new_phone, "status": self.status,
                "rules_fired": self.rules_fired, "reasons": self.reasons,
                "call_id": self.call_id}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class PhoneReview:
    """The review queue of phone changes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list(self, *, pending: bool = True, limit: int = 100) -> list[ReviewItem]:
        """Pending changes oldest first, or decided ones (not ``review``) newest first."""
        query = _joined().limit(limit)
        if pending:
            query = query.where(PhoneChangeRow.status == PENDING).order_by(PhoneChangeRow.id)
        else:
            query = query.where(PhoneChangeRow.status != PENDING).order_by(
                PhoneChangeRow.id.desc())
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable",
                             f"cannot read phone changes: {type(err).__name__}") from err
        return [_item(row) for row in rows]

    async def decide(self, change_id: int, decision: str) -> ReviewItem:
        """Approve (the phone changes) or reject one pending change, exactly once."""
        status = DECISIONS[decision]
        try:
            async with self._engine.begin() as conn:
                change = (await conn.execute(
                    _joined().where(PhoneChangeRow.id == change_id))).first()
                if change is None:
                    raise ReviewError("review-unknown", f"no phone change {change_id}")
                if change.status != PENDING:
                    raise ReviewError("review-decided", f"phone change {change_id} was already "
                                      f"decided ({change.status})")
                if decision == "approve" and change.current_phone != change.old_phone:
                    raise ReviewError("review-stale", "the customer's registered phone changed "
                                      "since this request; reject it and ask the customer to "
                                      "call again")
                done = await conn.execute(update(PhoneChangeRow).where(
                    PhoneChangeRow.id == change_id, PhoneChangeRow.status == PENDING)
                    .values(status=status))
                if done.rowcount != 1:  # another reviewer won the race
                    raise ReviewError("review-decided",
                                      f"phone change {change_id} was already decided")
                if decision == "approve":
                    await conn.execute(update(CustomerRow).where(
                        CustomerRow.id == change.customer_id).values(phone=change.new_phone))
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable",
                             f"cannot decide a phone change: {type(err).__name__}") from err
        return _item(change, status=status)


def _joined() -> Any:
    return (select(PhoneChangeRow.__table__, CustomerRow.name.label("customer_name"),
                   CustomerRow.phone.label("current_phone"))
            .join(CustomerRow, CustomerRow.id == PhoneChangeRow.customer_id, isouter=True))


def _item(row: Any, *, status: str | None = None) -> ReviewItem:
    return ReviewItem(row.id, _utc(row.at), row.customer_id, abbreviate_name(row.customer_name),
                      mask_phone(row.old_phone), mask_phone(row.new_phone),
                      status or row.status, list(row.rules_fired or []),
                      list(row.reasons or []), row.call_id, row.channel)
