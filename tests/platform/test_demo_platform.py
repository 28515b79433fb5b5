"""The demo backend on SQLite and PostgreSQL, seeded as ``ivr demo seed`` does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ivr.platform.api import ActionRequest
from ivr.platform.demo import DemoPlatform
from ivr.platform.seed import seed_demo
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.security.settings import PinSettings
from ivr.store.db import make_engine
from ivr.store.models import AuditRow

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def platform(db_url: str) -> AsyncIterator[DemoPlatform]:
    engine = make_engine(db_url)
    await seed(CustomerRepository(engine), PinHasher(PinSettings(time_cost=1, memory_kib=8192)))
    await seed_demo(engine, NOW)
    await seed_demo(engine, NOW)  # idempotent
    try:
        yield DemoPlatform(engine)
    finally:
        await engine.dispose()


async def test_fee_quote_needs_no_customer(platform: DemoPlatform) -> None:
    r = await platform.perform(ActionRequest("fee_quote", {"amount": "500", "currency": "usd"}))
    assert r.outcome == "ok"
    assert (r.values["fee"], r.values["total"], r.values["minimum"]) == ("5.00", "505.00", "2.00")
    small = await platform.perform(ActionRequest("fee_quote", {"amount": "20"}))
    assert small.values["fee"] == "2.00"
    bad = await platform.perform(ActionRequest("fee_quote", {"kind": "nonsense"}))
    assert bad.outcome == "invalid"


async def test_account_actions_need_a_verified_customer(platform: DemoPlatform) -> None:
    for action in ("payment_status", "refund_status", "balance", "block_card"):
        r = await platform.perform(ActionRequest(action))
        assert r.outcome == "refused"


async def test_payment_status_latest_or_by_id_and_only_ones_own(platform: DemoPlatform) -> None:
    latest = await platform.perform(ActionRequest("payment_status", customer_id="C1001"))
    assert (latest.values["transaction_id"], latest.values["status"]) == ("TX10001", "pending")
    assert latest.values["expected"] == "2026-11-26"
    by_id = await platform.perform(ActionRequest("payment_status", {"transaction_id": "tx10003"},
                                                 customer_id="C1001"))
    assert by_id.values["status"] == "failed"
    other = await platform.perform(ActionRequest("payment_status", {"transaction_id": "TX20001"},
                                                 customer_id="C1001"))
    assert other.outcome == "not_found"


async def test_refund_and_balance(platform: DemoPlatform) -> None:
    refund = await platform.perform(ActionRequest("refund_status", customer_id="C1002"))
    assert (refund.values["status"], refund.values["merchant"]) == ("requested", "京东商城")
    none = await platform.perform(ActionRequest("refund_status", customer_id="C1003"))
    assert none.outcome == "not_found"
    balance = await platform.perform(ActionRequest("balance", customer_id="C1001"))
    assert balance.values == {"balance": "2450.75", "available": "2250.75", "currency": "USD"}


async def test_block_card_blocks_one_card_and_audits(platform: DemoPlatform) -> None:
    wrong = await platform.perform(ActionRequest("block_card", {"card_last4": "0000"},
                                                 customer_id="C1003"))
    assert wrong.outcome == "not_found"
    ok = await platform.perform(ActionRequest("block_card", customer_id="C1003", call_id="c1"))
    assert ok.values == {"card_last4": "5100"}  # Grace's only active card
    again = await platform.perform(ActionRequest("block_card", customer_id="C1003"))
    assert again.outcome == "not_found"
    async with platform.engine.connect() as conn:
        rows = (await conn.execute(select(AuditRow).where(AuditRow.action == "card.block"))).all()
    assert [(r.subject, r.details) for r in rows] == [
        ("C1003", {"card_last4": "5100"})]
