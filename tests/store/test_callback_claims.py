"""Issue 19 item 1: the callback list is in the database, and every instance runs a dialler
over it. One request is dialled by one instance: two dialling at once ring the caller once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ivr.store.callbacks import CallbackRepository
from ivr.store.db import make_engine
from ivr.telephony.ami import AmiLink, AmiQueues
from ivr.telephony.settings import AmiSettings
from ivr.testing.ami_peer import FakeAmi, FakeQueue


class SameMoment:
    """The real repository, except that ``recent`` returns only once every instance has
    read the list: both diallers see the request pending, as on two busy servers."""

    def __init__(self, repo: CallbackRepository, barrier: asyncio.Barrier) -> None:
        self.repo = repo
        self.barrier = barrier

    async def add(self, call_id: str, caller: str, queue: str, language: str) -> str:
        return await self.repo.add(call_id, caller, queue, language)

    async def recent(self, limit: int = 50, status: str | None = None) -> list[Any]:
        got = await self.repo.recent(limit, status)
        await self.barrier.wait()
        return got

    async def claim(self, ident: str, retry_seconds: float) -> bool:
        return await self.repo.claim(ident, retry_seconds)

    async def attempt(self, ident: str, status: str, error: str | None = None) -> None:
        await self.repo.attempt(ident, status, error)


async def test_two_instances_ring_a_caller_back_once(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(2)]
    async with FakeAmi(queues={"customer_service": FakeQueue(available=1)}) as ami:
        settings = AmiSettings(host="127.0.0.1", port=ami.port, secret=ami.secret,
                               callback_retry_seconds=60)
        links = [AmiLink(settings) for _ in engines]
        running = [asyncio.create_task(link.run()) for link in links]
        try:
            async with asyncio.timeout(10):
                while not all(link.connected for link in links):
                    await asyncio.sleep(0.05)
            repos = [CallbackRepository(e) for e in engines]
            await repos[0].add("c" * 32, "+15550101234", "customer_service", "en-US")
            both_read = asyncio.Barrier(2)
            dialled = await asyncio.gather(*(
                AmiQueues(link, SameMoment(repo, both_read)).dial_pending()
                for link, repo in zip(links, repos, strict=True)))
            assert sorted(dialled) == [0, 1]
            assert len(ami.originated) == 1
            assert [c.status for c in await repos[1].recent()] == ["done"]
        finally:
            for link in links:
                await link.stop()
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for e in engines:
                await e.dispose()


async def test_a_claim_holds_for_the_retry_time(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        repo = CallbackRepository(engine)
        ident = await repo.add("d" * 32, "+15550101235", "customer_service", "en-US")
        now = datetime.now(UTC)
        claims = await asyncio.gather(*(repo.claim(ident, 30, now) for _ in range(3)))
        assert sorted(claims) == [False, False, True]
        assert not await repo.claim(ident, 30, now + timedelta(seconds=10))
        assert await repo.claim(ident, 30, now + timedelta(seconds=31))  # retry is due
        await repo.attempt(ident, "done")
        assert not await repo.claim(ident, 30, now + timedelta(hours=1))
    finally:
        await engine.dispose()
