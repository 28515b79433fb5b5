"""The demo backend: self-service on our own tables (seeded by ``ivr demo seed``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.audit import AuditEntry, AuditLog
from ivr.platform.api import ActionRequest, ActionResult, PlatformError
from ivr.store.models import AccountRow, CardRow, FeeRow, RefundRow, TransactionRow

CENT = Decimal("0.01")
FEE_KINDS = ("transfer_domestic", "transfer_international", "atm_withdrawal", "card_abroad",
             "top_up_card")


def money(value: Any) -> str:
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def day(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else ""


def payment_status_query(accounts: list[str], tx_id: str | None) -> Select[TransactionRow]:
    """The customer's transaction ``tx_id`` (the primary key), else their latest."""
    q = select(TransactionRow).where(TransactionRow.account_id.in_(accounts))
    if tx_id:
        q = q.where(TransactionRow.id == tx_id.upper())
    return q.order_by(TransactionRow.created_at.desc())


class DemoPlatform:
    """``Platform`` over SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def close(self) -> None:
        """Nothing to close: the engine belongs to the caller."""

    async def perform(self, request: ActionRequest) -> ActionResult:
        handler = getattr(self, f"_{request.action}", None)
        if handler is None:
            return ActionResult("invalid", {"reason": "unknown_action"})
        if request.action != "fee_quote" and not request.customer_id:
            return ActionResult("refused", {"reason": "not_verified"})
        try:
            result: ActionResult = await handler(request)
        except SQLAlchemyError as err:
            raise PlatformError("platform-unavailable", f"demo platform: {type(err).__name__}") \
                from err
        return result

    async def _fee_quote(self, r: ActionRequest) -> ActionResult:
        kind = r.params.get("kind") or "transfer_international"
        currency = (r.params.get("currency") or "USD").upper()
        if kind not in FEE_KINDS:
            return ActionResult("invalid", {"reason": "unknown_fee_kind"})
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(FeeRow).where(
                FeeRow.kind == kind, FeeRow.currency.in_([currency, "USD"])))).first()
        if row is None:
            return ActionResult("not_found", {"kind": kind})
        values = {"kind": kind, "currency": row.currency, "percent": str(Decimal(row.percent)
                                                                       .normalize()),
                  "minimum": money(row.minimum), "flat": money(row.flat)}
        amount = _amount(r.params.get("amount"))
        if amount is not None:
            fee = max(Decimal(row.minimum), amount * Decimal(row.percent) / 100) + Decimal(row.flat)
            values |= {"amount": money(amount), "fee": money(fee), "total": money(amount + fee)}
        return ActionResult("ok", values)

    async def _accounts(self, conn: Any, customer_id: str) -> list[str]:
        rows = await conn.execute(select(AccountRow.id).where(AccountRow.customer_id == customer_id))
        return [row[0] for row in rows]

    async def _payment_status(self, r: ActionRequest) -> ActionResult:
        async with self.engine.connect() as conn:
            accounts = await self._accounts(conn, str(r.customer_id))
            q = payment_status_query(accounts, r.params.get("transaction_id"))
            row = (await conn.execute(q)).first()
        if row is None:
            return ActionResult("not_found")
        return ActionResult("ok", {"transaction_id": row.id, "status": row.status,
                                   "kind": row.kind, "amount": money(row.amount),
                                   "currency": row.currency, "counterparty": row.counterparty,
                                   "date": day(row.created_at), "expected": day(row.expected_at)})

    async def _refund_status(self, r: ActionRequest) -> ActionResult:
        async with self.engine.connect() as conn:
            accounts = await self._accounts(conn, str(r.customer_id))
            q = (select(RefundRow, TransactionRow.counterparty)
                 .join(TransactionRow, RefundRow.transaction_id == TransactionRow.id)
                 .where(TransactionRow.account_id.in_(accounts)))
            if tx_id := r.params.get("transaction_id"):
                q = q.where((RefundRow.transaction_id == tx_id.upper())
                            | (RefundRow.id == tx_id.upper()))
            row = (await conn.execute(q.order_by(RefundRow.requested_at.desc()))).first()
        if row is None:
            return ActionResult("not_found")
        return ActionResult("ok", {"refund_id": row.id, "transaction_id": row.transaction_id,
                                   "status": row.status, "amount": money(row.amount),
                                   "currency": row.currency, "merchant": row.counterparty,
                                   "date": day(row.requested_at),
                                   "expected": day(row.expected_at)})

    async def _balance(self, r: ActionRequest) -> ActionResult:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(AccountRow).where(
                AccountRow.customer_id == r.customer_id).order_by(AccountRow.id))).first()
        if row is None:
            return ActionResult("not_found")
        return ActionResult("ok", {"balance": money(row.balance), "available": money(row.available),
                                   "currency": row.currency})

    async def _block_card(self, r: ActionRequest) -> ActionResult:
        last4 = r.params.get("card_last4") or ""
        async with self.engine.begin() as conn:
            cards = (await conn.execute(select(CardRow.id, CardRow.last4).where(
                CardRow.customer_id == r.customer_id, CardRow.status == "active"))).all()
            chosen = [c for c in cards if c.last4 == last4] if last4 else cards
            if not chosen:
                return ActionResult("not_found", {"card_last4": last4} if last4 else {})
            if len(chosen) > 1:
                return ActionResult("ambiguous", {"cards": str(len(chosen))})
            card = chosen[0]
            await conn.execute(update(CardRow).where(CardRow.id == card.id)
                               .values(status="blocked"))
        await AuditLog(self.engine).append(AuditEntry(
            actor=f"caller:{r.call_id}", action="card.block", outcome="ok",
            subject=str(r.customer_id), channel="ivr", details={"card_last4": card.last4}))
        return ActionResult("ok", {"card_last4": card.last4})


def _amount(raw: str | None) -> Decimal | None:
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and Decimal(0) < value < Decimal(10) ** 9 else None


def params_of(values: Mapping[str, Any]) -> dict[str, str]:
    """Call variables to request params (strings, empty ones dropped)."""
    return {k: str(v) for k, v in values.items() if v not in (None, "")}
