"""Attempt counters on real SQLite and PostgreSQL, including calls racing the same customer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ivr.security.lockout import AttemptCounter
from ivr.store.db import make_engine

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
LIMIT = {"limit": 3, "window": 86_400.0, "lock": 900.0}


async def test_third_failure_locks_for_fifteen_minutes_then_unlocks(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        counter = AttemptCounter(engine)
        claims = [await counter.claim("c1", "pin", now=NOW, **LIMIT) for _ in range(4)]
        assert [c.allowed for c in claims] == [True, True, True, False]
        assert [c.last for c in claims[:3]] == [False, False, True]
        assert claims[3].locked_until == NOW + timedelta(minutes=15)
        # Another factor and another customer are not affected.
        assert (await counter.claim("c1", "card_last4", now=NOW, **LIMIT)).allowed
        assert (await counter.claim("c2", "pin", now=NOW, **LIMIT)).allowed
        assert set(await counter.locked("c1", NOW)) == {"pin"}
        later = NOW + timedelta(minutes=15, seconds=1)
        again = await counter.claim("c1", "pin", now=later, **LIMIT)
        assert again.allowed and again.count == 1
    finally:
        await engine.dispose()


async def test_success_resets_the_count(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        counter = AttemptCounter(engine)
        for _ in range(2):
            await counter.claim("c1", "pin", now=NOW, **LIMIT)
        await counter.reset("c1", "pin", NOW)
        claims = [await counter.claim("c1", "pin", now=NOW, **LIMIT) for _ in range(3)]
        assert all(c.allowed for c in claims) and claims[-1].last
    finally:
        await engine.dispose()


async def test_concurrent_calls_get_at_most_three_attempts(db_url: str) -> None:
    engine = make_engine(db_url, pool_size=10) if "postgresql" in db_url else make_engine(db_url)
    try:
        counter = AttemptCounter(engine)
        claims = await asyncio.gather(*(counter.claim("c9", "pin", now=NOW, **LIMIT)
                                        for _ in range(20)))
        assert sum(c.allowed for c in claims) == 3
        assert sorted(c.count for c in claims if c.allowed) == [1, 2, 3]
    finally:
        await engine.dispose()
