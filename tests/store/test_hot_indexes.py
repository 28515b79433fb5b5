"""The hot lookups run on their indexes in PostgreSQL (issue 19 item 7): a caller's recent
calls, customer by phone, transaction by id. Each query is the one the code runs, EXPLAINed
over a few thousand rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.dialects import postgresql

from ivr.platform.demo import payment_status_query
from ivr.store.db import make_engine
from ivr.store.models import CallRow, CustomerRow
from ivr.store.repo import CallQueries, caller_calls_query

ROWS = 3000
FILL = [
    """INSERT INTO calls (id, transport, route, caller, started_at)
       SELECT 'c' || n, 'agi', 'hotline', '+1555' || lpad((n % 300)::text, 7, '0'),
              now() - n * interval '1 minute' FROM generate_series(1, :rows) AS n""",
    """INSERT INTO customers (id, name, phone, language, created_at)
       SELECT 'cu' || n, 'Customer ' || n, '+1666' || lpad(n::text, 7, '0'), 'en-US', now()
       FROM generate_series(1, :rows) AS n""",
    """INSERT INTO accounts (id, customer_id, currency, balance, available)
       SELECT 'ac' || n, 'cu' || n, 'USD', 0, 0 FROM generate_series(1, :rows) AS n""",
    """INSERT INTO transactions (id, account_id, kind, amount, currency, counterparty, status,
                                 created_at)
       SELECT 'TX' || n, 'ac' || (n % :rows + 1), 'payment', 1, 'USD', 'Shop', 'settled',
              now() - n * interval '1 hour' FROM generate_series(1, 3 * :rows) AS n""",
]


def sql(statement: Any) -> str:
    return str(statement.compile(dialect=postgresql.dialect(),
                                 compile_kwargs={"literal_binds": True}))


async def plan_of(url: str, statement: Any) -> str:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for fill in FILL:
                await conn.execute(text(fill), {"rows": ROWS})
            await conn.execute(text("ANALYZE"))
            # A plan, not a race against a table small enough to read whole.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            rows = await conn.execute(text("EXPLAIN " + sql(statement)))
            return "\n".join(row[0] for row in rows)
    finally:
        await engine.dispose()


def assert_uses(plan: str, index: str) -> None:
    scans = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
    # "Index Scan using ix on table", "Bitmap Index Scan on ix"
    assert any(scan in line and (f"using {index} " in line or line.endswith(f" on {index}")
                                 or f" on {index} " in line)
               for line in plan.splitlines() for scan in scans), plan


@pytest.mark.parametrize(("statement", "index"), [
    (caller_calls_query("+15550000042", 10), "ix_calls_caller_started_at"),
    (select(CustomerRow).where(CustomerRow.phone == "+16660000042"), "ix_customers_phone"),
    (payment_status_query(["ac43"], "TX42"), "transactions_pkey"),
], ids=["caller-recent-calls", "customer-by-phone", "transaction-by-id"])
async def test_hot_lookup_uses_its_index(db_url: str, statement: Any, index: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("EXPLAIN plans are checked on PostgreSQL")
    assert_uses(await plan_of(db_url, statement), index)


async def test_a_callers_recent_calls_newest_first(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO calls (id, transport, route, caller, started_at) VALUES "
                "('a', 'agi', 'hotline', '+15550001', '2026-12-01 10:00:00+00'), "
                "('b', 'agi', 'hotline', '+15550002', '2026-12-01 11:00:00+00'), "
                "('c', 'agi', 'hotline', '+15550001', '2026-12-01 12:00:00+00')"))
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("calls"))
        rows = await CallQueries(engine).by_caller("+15550001")
    finally:
        await engine.dispose()
    assert [r.id for r in rows] == ["c", "a"]
    # The model mirrors the migration (SQLite too), so metadata.create_all gets it as well.
    assert {"name": "ix_calls_caller_started_at", "columns": ["caller", "started_at"]} in [
        {"name": i["name"], "columns": i["column_names"]} for i in indexes]
    assert "ix_calls_caller_started_at" in {i.name for i in CallRow.__table__.indexes}
