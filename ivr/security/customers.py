"""The customers table (shared with self-service), their cards and knowledge facts.

Until the platform issue's demo backend lands, this is where verification finds customers;
that issue adopts these tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.errors import StoreError
from ivr.security.masking import abbreviate_name, mask_card, mask_phone
from ivr.store.models import CardRow, CustomerFactsRow, CustomerRow, PhoneChangeRow


@dataclass(frozen=True, slots=True)
class Card:
    """What verification knows of a card: never the full number."""

    first6: str
    last4: str
    status: str = "active"

    @property
    def masked(self) -> str:
        return mask_card(self.first6 + "0" * 6 + self.last4)


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as verification sees it; secrets stay out of repr."""

    id: str
    name: str
    phone: str
    language: str
    cards: tuple[Card, ...] = ()
    pin_hash: str | None = field(default=None, repr=False)
    birth_date: str | None = field(default=None, repr=False)

    @property
    def has_pin(self) -> bool:
        return self.pin_hash is not None

    def public(self) -> dict[str, Any]:
        """Safe to print, send to a browser or put in an event: masked, no secrets."""
        return {"id": self.id, "name": abbreviate_name(self.name), "phone": mask_phone(self.phone),
                "language": self.language, "has_pin": self.has_pin,
                "has_birth_date": self.birth_date is not None,
                "cards": [{"card": c.masked, "status": c.status} for c in self.cards]}


@dataclass(frozen=True, slots=True)
class PhoneChange:
    """One attempt to change a registered phone and what was decided."""

    id: int
    at: datetime
    customer_id: str
    status: str
    rules_fired: list[str]
    reasons: list[str]
    call_id: str | None
    old_phone: str = field(repr=False, default="")
    new_phone: str = field(repr=False, default="")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class CustomerRepository:
    """Read and write customers, cards, facts and phone changes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(self, customer: Customer, *, now: datetime | None = None) -> None:
        """Insert or replace a customer with their cards and facts (idempotent)."""
        now = now or datetime.now(UTC)
        values = {"name": customer.name, "phone": customer.phone, "language": customer.language,
                  "pin_hash": customer.pin_hash}
        try:
            async with self._engine.begin() as conn:
                known = await conn.scalar(select(CustomerRow.id).where(
                    CustomerRow.id == customer.id))
                if known is None:
                    await conn.execute(insert(CustomerRow).values(
                        id=customer.id, created_at=now, **values))
                else:
                    await conn.execute(update(CustomerRow).where(
                        CustomerRow.id == customer.id).values(**values))
                await conn.execute(delete(CardRow).where(CardRow.customer_id == customer.id))
                for card in customer.cards:
                    await conn.execute(insert(CardRow).values(
                        customer_id=customer.id, first6=card.first6, last4=card.last4,
                        status=card.status, created_at=now))
                await conn.execute(delete(CustomerFactsRow).where(
                    CustomerFactsRow.customer_id == customer.id))
                await conn.execute(insert(CustomerFactsRow).values(
                    customer_id=customer.id, birth_date=customer.birth_date))
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot save customer: {type(err).__name__}") from err

    async def get(self, customer_id: str) -> Customer | None:
        found = await self._load(CustomerRow.id == customer_id)
        return found[0] if found else None

    async def by_phone(self, phone: str) -> list[Customer]:
        """Every customer registered with this E.164 number."""
        return await self._load(CustomerRow.phone == phone)

    async def _load(self, where: Any) -> list[Customer]:
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(select(
                    CustomerRow.id, CustomerRow.name, CustomerRow.phone, CustomerRow.language,
                    CustomerRow.pin_hash).where(where).order_by(CustomerRow.id))).all()
                ids = [r.id for r in rows]
                cards = (await conn.execute(select(CardRow).where(
                    CardRow.customer_id.in_(ids)).order_by(CardRow.id))).all() if ids else []
                facts = (await conn.execute(select(CustomerFactsRow).where(
                    CustomerFactsRow.customer_id.in_(ids)))).all() if ids else []
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot read customers: {type(err).__name__}") from err
        by_customer: dict[str, list[Card]] = {}
        for card in cards:
            by_customer.setdefault(card.customer_id, []).append(
                Card(card.first6, card.last4, card.status))
        births = {f.customer_id: f.birth_date for f in facts}
        return [Customer(r.id, r.name, r.phone, r.language, tuple(by_customer.get(r.id, [])),
                         r.pin_hash, births.get(r.id)) for r in rows]

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(CustomerRow)) or 0)

    async def phone_changes(self, customer_id: str, *, since: datetime | None = None,
                            limit: int = 50) -> list[PhoneChange]:
        query = (select(PhoneChangeRow).where(PhoneChangeRow.customer_id == customer_id)
                 .order_by(PhoneChangeRow.id.desc()).limit(limit))
        if since is not None:
            query = query.where(PhoneChangeRow.at >= since)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [PhoneChange(r.id, _utc(r.at), r.customer_id, r.status, list(r.rules_fired or []),
                            list(r.reasons or []), r.call_id, r.old_phone, r.new_phone)
                for r in rows]

    async def record_phone_change(self, customer: Customer, new_phone: str, *, status: str,
                                  rules_fired: list[str], reasons: list[str], call_id: str | None,
                                  channel: str | None, now: datetime) -> None:
        """Store the decision; when ``applied``, the registered phone changes in the same
        transaction."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(PhoneChangeRow).values(
                    at=now, customer_id=customer.id, old_phone=customer.phone,
                    new_phone=new_phone, status=status, rules_fired=rules_fired,
                    reasons=reasons, call_id=call_id, channel=channel))
                if status == "applied":
                    await conn.execute(update(CustomerRow).where(
                        CustomerRow.id == customer.id).values(phone=new_phone))
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable",
                             f"cannot record a phone change: {type(err).__name__}") from err
