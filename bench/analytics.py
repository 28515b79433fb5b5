"""Analytics over 100,000 stored calls (issue 16): how long ``GET /api/analytics`` takes.

Seeds 100,000 finished calls of the hotline over 30 days (outcomes, queues, intents,
escalations, three question nodes each, a survey answer on one call in four), with the
running totals the store writer adds for each (``ivr.store.rollup``), into a fresh
SQLite file and a PostgreSQL database (``IVR_BENCH_PG_URL``, default the ``ivr_bench``
database scripts/start-postgres.sh creates, as bench.scale), then times the query the API
runs: a month, a week and a day, for the whole hotline, per dialplan and per language; the
days are Europe/Berlin's (a daylight-saving change falls in the month). Floor: every query within 500 ms.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bench import bench_pg_url
from ivr.store import rollup
from ivr.store.analytics import analytics, parse_period
from ivr.store.db import make_engine, upgrade
from ivr.store.facts import CallFacts
from ivr.store.models import CallRow
from ivr.testing.postgres import reset_postgres

CALLS = 100_000
FLOOR_MS = 500.0
START = datetime(2026, 10, 1, tzinfo=UTC)
OUTCOMES = ["self_served"] * 6 + ["queued"] * 3 + ["abandoned"]
QUEUES = ["customer_service", "card_services", "senior_agents", "refunds"]
INTENTS = ["payment_status", "refund", "fees", "card_lost", "balance", None, None, "unknown"]
NODES = ["main_menu", "how_can_i_help", "anything_else", "survey", "account_menu"]


def _rows(seed: int = 16) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Call rows, and the totals those calls add (built by the writer's own functions)."""
    rnd = random.Random(seed)
    calls, totals = [], []
    for i in range(CALLS):
        started = START + timedelta(seconds=rnd.randrange(30 * 86400))
        outcome = rnd.choice(OUTCOMES)
        seconds = round(rnd.uniform(20, 240), 3)
        language = rnd.choice(["en-US", "zh-CN"])
        plan = "hotline" if i % 10 else "promo"
        queue = rnd.choice(QUEUES) if outcome == "queued" else None
        facts = CallFacts(intent=rnd.choice(INTENTS), escalated=rnd.random() < 0.03,
                          nodes={node: [1, int(rnd.random() < 0.1), int(rnd.random() < 0.05)]
                                 for node in rnd.sample(NODES, 3)})
        calls.append({"id": f"{i:032x}", "transport": "agi", "route": "hotline",
                      "language": language, "dialplan_id": plan, "dialplan_version": 1,
                      "started_at": started, "answered_at": started,
                      "ended_at": started + timedelta(seconds=seconds), "outcome": outcome,
                      "queue": queue, "intent": facts.intent, "escalated": facts.escalated,
                      "ivr_seconds": seconds, "instance_id": "bench"})
        at = rollup.where(rollup.day_of(started, ZONE), plan, language)
        totals += rollup.call_rows(at, facts, outcome, queue, seconds)
        if i % 4 == 0:
            totals += rollup.survey_rows(at, rnd.randint(1, 5))
    return calls, totals


async def _seed(url: str, rows: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    calls, totals = rows
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for at in range(0, len(calls), 5000):
                await conn.execute(insert(CallRow), calls[at:at + 5000])
            for at in range(0, len(totals), 50_000):
                await rollup.add(conn, totals[at:at + 50_000])
        if engine.dialect.name == "postgresql":  # what autovacuum does to a busy table
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


ZONE = ZoneInfo("Europe/Berlin")
CASES = [("month", "2026-10-01", "2026-10-30", None, None),
         ("month, one dialplan", "2026-10-01", "2026-10-30", "hotline", None),
         ("month, one language", "2026-10-01", "2026-10-30", "hotline", "zh-CN"),
         ("week", "2026-10-05", "2026-10-11", "hotline", None),
         ("day", "2026-10-12", "2026-10-12", "hotline", None)]


async def _time_api(url: str, database: str) -> dict[str, Any]:
    """GET /api/analytics for the month, as a signed-in supervisor (login, JSON, all)."""
    import aiohttp

    from ivr.testing.web_harness import PASSWORD, login, make_server
    from ivr.web.passwords import hash_password

    times = []
    async for server in make_server(url, hash_password(PASSWORD), store="none",
                                    timezone=ZONE.key):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await login(http, server.base, "sam")
            for _ in range(5):
                began = time.perf_counter()
                async with http.get(f"{server.base}/api/analytics",
                                    params={"from": "2026-10-01", "to": "2026-10-30"}) as resp:
                    calls = (await resp.json())["calls"]
                times.append((time.perf_counter() - began) * 1000)
    return {"database": database, "case": "month via GET /api/analytics", "calls": calls,
            "median_ms": round(statistics.median(times), 1), "worst_ms": round(max(times), 1)}


async def _time(url: str, database: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    out = []
    try:
        for name, start, end, plan, language in CASES:
            period = parse_period(start, end, dialplan=plan, language=language)
            times = []
            figures: dict[str, Any] = {}
            for _ in range(5):
                began = time.perf_counter()
                figures = await analytics(engine, period)
                times.append((time.perf_counter() - began) * 1000)
            out.append({"database": database, "case": name, "calls": figures["calls"],
                        "median_ms": round(statistics.median(times), 1),
                        "worst_ms": round(max(times), 1)})
    finally:
        await engine.dispose()
    return [*out, await _time_api(url, database)]


def _expected(calls: list[dict[str, Any]], case: str) -> int:
    """How many seeded calls a case covers, counted from the call rows."""
    name, start, end, plan, language = next(
        c for c in CASES if case in (c[0], "month via GET /api/analytics"))
    if case != name:
        start, end, plan, language = "2026-10-01", "2026-10-30", None, None
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return sum(1 for c in calls if first <= rollup.day_of(c["started_at"], ZONE) <= last
               and plan in (None, c["dialplan_id"]) and language in (None, c["language"]))


def bench(args: Any) -> dict[str, Any]:
    rows = _rows()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        asyncio.run(_seed(url, rows))
        results += asyncio.run(_time(url, "sqlite"))
    pg = bench_pg_url()
    reset_postgres(pg)
    upgrade(pg)
    asyncio.run(_seed(pg, rows))
    results += asyncio.run(_time(pg, "postgresql"))
    for row in results:  # the figures must be the calls themselves, counted one by one
        row["expected_calls"] = _expected(rows[0], row["case"])
    return {"title": f"Analytics over {CALLS:,} stored calls (5 runs each)", "rows": results,
            "floor": f"every query within {FLOOR_MS:.0f} ms (worst of 5), SQLite and PostgreSQL",
            "floor_met": bool(results) and all(r["worst_ms"] <= FLOOR_MS for r in results)
            and all(r["calls"] == r["expected_calls"] for r in results)
            and {r["database"] for r in results} == {"sqlite", "postgresql"}}


if __name__ == "__main__":
    import json

    print(json.dumps(bench(None), indent=2))
