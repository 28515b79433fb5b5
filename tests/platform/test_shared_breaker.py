"""Issue 19 items 1 and 5: the payment backend's circuit breaker shared by instances through
Redis, and what happens when Redis itself is down (each instance decides alone, alerted)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from redis.asyncio import Redis

from ivr.platform.api import ActionRequest, PlatformError
from ivr.platform.http import HttpPlatform
from ivr.platform.settings import HttpPlatformSettings
from ivr.store.settings import RedisSettings
from ivr.store.shared import SharedState
from ivr.testing.tcp_relay import TcpRelay

BALANCE = ActionRequest("balance", customer_id="C1")


class Upstream:
    """A payment backend that is down (503) or up, counting requests."""

    def __init__(self) -> None:
        self.down = True
        self.seen = 0

    async def handle(self, _request: web.Request) -> web.Response:
        self.seen += 1
        if self.down:
            return web.Response(status=503)
        return web.json_response({"outcome": "ok", "values": {"balance": "1.00"}})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    up = Upstream()
    app = web.Application()
    app.router.add_post("/ivr/v1/actions/{action}", up.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield up, f"http://127.0.0.1:{port}/ivr/v1"
    finally:
        await runner.cleanup()


def instance(url: str, shared: SharedState | None) -> HttpPlatform:
    return HttpPlatform(HttpPlatformSettings(url=url, timeout=0.5, retries=0,
                                             breaker_failures=2, breaker_reset_seconds=60),
                        shared=shared)


async def test_one_instance_finding_the_backend_down_opens_the_breaker_for_all(
        upstream: tuple[Upstream, str], redis_url: str) -> None:
    up, url = upstream
    prefix = f"ivr-test-{secrets.token_hex(4)}:"
    shared = [SharedState(RedisSettings(url=redis_url), prefix) for _ in range(2)]
    a, b = (instance(url, s) for s in shared)
    try:
        for _ in range(2):
            with pytest.raises(PlatformError):
                await a.perform(BALANCE)
        assert up.seen == 2
        with pytest.raises(PlatformError) as err:
            await b.perform(BALANCE)  # b never failed itself
        assert err.value.code == "platform-circuit-open" and up.seen == 2
        # The backend recovers and the mark expires: requests go out again, for all.
        up.down = False
        client = Redis.from_url(redis_url)
        await client.delete(f"{prefix}breaker:platform:open")  # as if reset_seconds passed
        await client.aclose()
        assert (await b.perform(BALANCE)).outcome == "ok"
    finally:
        for p in (a, b):
            await p.close()
        for s in shared:
            await s.close()


async def test_redis_down_each_instance_decides_alone_and_it_is_alerted(
        upstream: tuple[Upstream, str], redis_url: str) -> None:
    up, url = upstream
    up.down = False
    relay = TcpRelay("127.0.0.1", int(redis_url.split(":")[2].split("/")[0]))
    port = await relay.start()
    alerts: list[str] = []
    shared = SharedState(RedisSettings(url=f"redis://127.0.0.1:{port}/0", retry_seconds=0.2),
                         f"ivr-test-{secrets.token_hex(4)}:", on_error=alerts.append)
    platform = instance(url, shared)
    try:
        assert (await platform.perform(BALANCE)).outcome == "ok" and shared.up
        relay.cut()
        assert (await platform.perform(BALANCE)).outcome == "ok"  # calls go on
        assert alerts == ["redis-unavailable"] and not shared.up
        up.down = True
        for _ in range(2):
            with pytest.raises(PlatformError):
                await platform.perform(BALANCE)
        with pytest.raises(PlatformError) as err:  # its own breaker still protects it
            await platform.perform(BALANCE)
        assert err.value.code == "platform-circuit-open"
        relay.restore()
        import asyncio

        await asyncio.sleep(0.3)
        assert await shared.run(lambda r: r.ping())
        assert shared.up
    finally:
        await platform.close()
        await shared.close()
        await relay.close()
