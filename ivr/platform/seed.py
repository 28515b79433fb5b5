"""Demo platform data for the demo customers (a hook of ``ivr demo seed``; idempotent).

Dates are relative to the day of seeding, so "the transfer I sent yesterday" stays true.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.store.models import AccountRow, FeeRow, RefundRow, TransactionRow

D = Decimal
ACCOUNTS = [("A1001", "C1001", "USD", D("2450.75"), D("2250.75")),
            ("A1002", "C1002", "CNY", D("18800.00"), D("18800.00")),
            ("A1003", "C1003", "USD", D("310.20"), D("310.20"))]
# id, account, kind, amount, currency, counterparty, status, days ago, expected in days
TRANSACTIONS = [
    ("TX10001", "A1001", "transfer", D("200.00"), "USD", "Maria Lovelace", "pending", 1, 1),
    ("TX10002", "A1001", "card", D("89.99"), "USD", "Skyline Air", "completed", 6, None),
    ("TX10003", "A1001", "withdrawal", D("60.00"), "USD", "ATM 5th Avenue", "failed", 3, None),
    ("TX20001", "A1002", "transfer", D("5000.00"), "CNY", "王芳", "pending", 1, 1),
    ("TX20002", "A1002", "card", D("299.00"), "CNY", "京东商城", "completed", 4, None),
    ("TX30001", "A1003", "top_up", D("50.00"), "USD", "Card top-up", "completed", 2, None),
]
REFUNDS = [("RF5001", "TX10002", D("89.99"), "USD", "approved", 2, 3),
           ("RF6001", "TX20002", D("299.00"), "CNY", "requested", 1, 7)]
FEES = [(kind, cur, D(p), D(m), D(f)) for cur in ("USD", "CNY") for kind, p, m, f in (
    ("transfer_domestic", "0", "0", "0"), ("transfer_international", "1", "2", "0"),
    ("atm_withdrawal", "0", "0", "2.50"), ("card_abroad", "0", "0", "0"),
    ("top_up_card", "0.5", "0", "0"))]


async def seed_demo(engine: AsyncEngine, now: datetime | None = None) -> dict[str, Any]:
    """(Re)create the demo accounts, transactions, refunds and fee schedule."""
    now = now or datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(delete(RefundRow).where(RefundRow.id.in_([r[0] for r in REFUNDS])))
        await conn.execute(delete(TransactionRow).where(
            TransactionRow.id.in_([t[0] for t in TRANSACTIONS])))
        await conn.execute(delete(AccountRow).where(AccountRow.id.in_([a[0] for a in ACCOUNTS])))
        await conn.execute(delete(FeeRow))
        await conn.execute(insert(AccountRow), [
            {"id": a, "customer_id": c, "currency": cur, "balance": b, "available": av}
            for a, c, cur, b, av in ACCOUNTS])
        await conn.execute(insert(TransactionRow), [
            {"id": t, "account_id": a, "kind": k, "amount": amt, "currency": cur,
             "counterparty": cp, "status": st, "created_at": now - timedelta(days=ago),
             "expected_at": now + timedelta(days=exp) if exp is not None else None}
            for t, a, k, amt, cur, cp, st, ago, exp in TRANSACTIONS])
        await conn.execute(insert(RefundRow), [
            {"id": r, "transaction_id": t, "amount": amt, "currency": cur, "status": st,
             "requested_at": now - timedelta(days=ago), "expected_at": now + timedelta(days=exp)}
            for r, t, amt, cur, st, ago, exp in REFUNDS])
        await conn.execute(insert(FeeRow), [
            {"kind": k, "currency": c, "percent": p, "minimum": m, "flat": f}
            for k, c, p, m, f in FEES])
    return {"accounts": len(ACCOUNTS), "transactions": len(TRANSACTIONS),
            "refunds": len(REFUNDS), "fees": len(FEES)}
