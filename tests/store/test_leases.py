"""Issue 19 items 1 and 4 in the store: instance leases, lost instances' calls closed by one
survivor, and PostgreSQL telling every instance at once when a dialplan is published."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from ivr.dialplans import DialplanRegistry, publish_folder_if_empty
from ivr.store.db import make_engine
from ivr.store.instances import InstanceLease, close_lost
from ivr.store.models import InstanceRow
from ivr.store.notify import DIALPLANS, Notifications
from ivr.store.repo import CallQueries, DialplanRepository
from ivr.store.writer import CallRecorder, EventWriter

PLAN = """id: tiny
languages: [en-US]
start: bye
nodes:
  bye:
    say: {en-US: "Version %d."}
    next: end
  end:
    hangup: {}
"""


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def open_call(engine: object, instance: str, call_id: str) -> None:
    writer = EventWriter(engine, instance_id=instance)  # type: ignore[arg-type]
    rec = CallRecorder(writer, call_id)
    rec.start(transport="agi", route="hotline")
    rec.event("prompt", text="Welcome")
    assert await writer.flush()


async def test_one_survivor_closes_a_lost_instances_calls_and_nobody_judges_too_early(
        db_url: str) -> None:
    engine = make_engine(db_url)
    clock = Clock()
    lost: list[tuple[str, list[str]]] = []
    try:
        a = InstanceLease(engine, "a", lease_seconds=1.0, clock=clock)
        b = InstanceLease(engine, "b", lease_seconds=1.0, clock=clock,
                          on_lost=lambda i, calls: lost.append((i, calls)))
        c = InstanceLease(engine, "c", lease_seconds=1.0, clock=clock)
        for lease in (a, b, c):
            await lease.start()
        await open_call(engine, "a", "1" * 32)
        await open_call(engine, "b", "2" * 32)
        # a stops renewing (kill -9): its lease runs out.
        async with engine.begin() as conn:
            await conn.execute(update(InstanceRow).where(InstanceRow.id == "a").values(
                expires_at=datetime.now(UTC) - timedelta(seconds=5)))
        # b and c just (re)gained the database: neither may judge yet (an outage ends for all).
        assert await b.check_others() == {} and await c.check_others() == {}
        clock.now += 1.5
        assert await b.renew() and await c.renew()
        first, second = await asyncio.gather(b.check_others(), c.check_others())
        assert {**first, **second} == {"a": ["1" * 32]}  # once, by one of them
        calls = CallQueries(engine)
        closed = await calls.get("1" * 32)
        assert closed is not None and closed.ended_at is not None
        assert (closed.outcome, closed.error_code) == ("failed", "instance-lost")
        assert [e.kind for e in await calls.events(closed.id)] == [
            "prompt", "error", "call_ended"]
        alive = await calls.get("2" * 32)
        assert alive is not None and alive.outcome is None
        async with engine.connect() as conn:
            states = dict((await conn.execute(select(InstanceRow.id, InstanceRow.state))).all())
        assert states == {"a": "lost", "b": "serving", "c": "serving"}
        # a comes back: it serves again; a clean stop is never judged lost.
        await a.start()
        await a.stop()
        clock.now += 1.5
        assert await b.renew() and await b.check_others() == {}
        async with engine.connect() as conn:
            assert await conn.scalar(select(InstanceRow.state).where(
                InstanceRow.id == "a")) == "stopped"
    finally:
        await engine.dispose()


async def test_a_publish_reaches_a_listening_instance_without_polling(db_url: str) -> None:
    """On PostgreSQL the watcher polls only every 30 s, yet sees a publish at once; on SQLite
    it polls every ``poll_seconds``."""
    engine = make_engine(db_url)
    publisher = make_engine(db_url)
    notes = Notifications(engine, DIALPLANS)
    try:
        repo = DialplanRepository(engine)
        registry = DialplanRegistry(repo)
        await repo.publish("tiny", PLAN % 1, "x")
        await registry.refresh()
        assert registry.plans["tiny"].version == 1
        poll = 60.0 if notes.supported else 0.1
        watcher = asyncio.create_task(registry.watch(poll, notes))
        try:
            await asyncio.sleep(0.5)
            assert notes.listening == notes.supported
            await DialplanRepository(publisher).publish("tiny", PLAN % 2, "y")
            async with asyncio.timeout(10):
                while registry.plans["tiny"].version != 2:
                    await asyncio.sleep(0.05)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    finally:
        await notes.close()
        await publisher.dispose()
        await engine.dispose()


async def test_instances_starting_together_publish_the_folder_once(
        db_url: str, tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(PLAN % 1, encoding="utf-8")
    engines = [make_engine(db_url) for _ in range(3)]
    try:
        published = await asyncio.gather(*(
            publish_folder_if_empty(DialplanRepository(e), tmp_path) for e in engines))
        assert sorted(len(p) for p in published) == [0, 0, 1]
        history = await DialplanRepository(engines[0]).history("tiny")
        assert [v.version for v in history] == [1]
    finally:
        for e in engines:
            await e.dispose()


async def test_instances_long_gone_are_forgotten(db_url: str) -> None:
    """In Kubernetes every pod start is a new id: rows of instances stopped or lost a week
    ago are deleted, recent ones kept."""
    engine = make_engine(db_url)
    try:
        for name in ("old", "recent"):
            lease = InstanceLease(engine, name, lease_seconds=1.0)
            await lease.start()
            await lease.stop()
        async with engine.begin() as conn:
            await conn.execute(update(InstanceRow).where(InstanceRow.id == "old").values(
                heartbeat_at=datetime.now(UTC) - timedelta(days=8)))
        assert await close_lost(engine, "me") == {}
        async with engine.connect() as conn:
            assert (await conn.execute(select(InstanceRow.id))).scalars().all() == ["recent"]
    finally:
        await engine.dispose()
