"""The HTTP backend against a real local server: timeouts, retries, circuit breaker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from ivr.platform.api import ActionRequest, PlatformError
from ivr.platform.breaker import CircuitBreaker
from ivr.platform.http import HttpPlatform
from ivr.platform.settings import HttpPlatformSettings


@dataclass
class Upstream:
    """Answers from a script: ``ok``, ``500``, ``slow``, ``garbage``, ``card``."""

    script: list[str] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append({"action": request.match_info["action"], **await request.json()})
        step = self.script.pop(0) if self.script else "ok"
        if step == "500":
            return web.Response(status=503)
        if step == "slow":
            await asyncio.sleep(1.0)
        if step == "garbage":
            return web.Response(text="<html>oops")
        values = {"balance": "10.00", "currency": "USD"}
        if step == "card":
            values = {"card_last4": "4242", "card_number": "4111111111114242"}
        return web.json_response({"outcome": "ok", "values": values})


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


def make(url: str, **over: Any) -> HttpPlatform:
    settings = HttpPlatformSettings(**{"url": url, "timeout": 0.3, "retries": 1, "backoff": 0.01,
                                       **over})
    return HttpPlatform(settings)


async def test_ok_and_full_card_numbers_never_come_through(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    up.script = ["ok", "card"]
    platform = make(url)
    try:
        r = await platform.perform(ActionRequest("balance", customer_id="C1", call_id="x"))
        assert r.values == {"balance": "10.00", "currency": "USD"}
        card = await platform.perform(ActionRequest("block_card", customer_id="C1"))
        assert card.values == {"card_last4": "4242"}
        assert "4111111111114242" not in json.dumps(dict(card.values))
        assert up.seen[0] == {"action": "balance", "params": {}, "customer_id": "C1",
                              "call_id": "x"}
    finally:
        await platform.close()


async def test_a_failed_read_is_retried_once(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    up.script = ["500", "ok"]
    platform = make(url)
    try:
        assert (await platform.perform(ActionRequest("balance", customer_id="C1"))).outcome == "ok"
        assert len(up.seen) == 2
    finally:
        await platform.close()


async def test_blocking_is_never_retried_and_slow_means_timeout(
        upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    up.script = ["500"]
    platform = make(url)
    try:
        with pytest.raises(PlatformError) as err:
            await platform.perform(ActionRequest("block_card", customer_id="C1"))
        assert err.value.code == "platform-unavailable" and len(up.seen) == 1
        up.script = ["slow", "slow"]
        with pytest.raises(PlatformError) as err:
            await platform.perform(ActionRequest("balance", customer_id="C1"))
        assert err.value.code == "platform-timeout"
        up.script = ["garbage", "garbage"]
        with pytest.raises(PlatformError):
            await platform.perform(ActionRequest("balance", customer_id="C1"))
    finally:
        await platform.close()


async def test_breaker_opens_and_stops_calling(upstream: tuple[Upstream, str]) -> None:
    up, url = upstream
    up.script = ["500"] * 4
    platform = make(url, retries=0, breaker_failures=2)
    try:
        for _ in range(2):
            with pytest.raises(PlatformError):
                await platform.perform(ActionRequest("balance", customer_id="C1"))
        calls = len(up.seen)
        with pytest.raises(PlatformError) as err:
            await platform.perform(ActionRequest("balance", customer_id="C1"))
        assert err.value.code == "platform-circuit-open" and len(up.seen) == calls
    finally:
        await platform.close()


async def test_nothing_listening_is_unavailable() -> None:
    platform = make("http://127.0.0.1:9/ivr/v1", retries=0)
    try:
        with pytest.raises(PlatformError):
            await platform.perform(ActionRequest("balance", customer_id="C1"))
    finally:
        await platform.close()


def test_breaker_half_open_lets_one_trial_through() -> None:
    b = CircuitBreaker(failures=2, reset_seconds=10)
    b.failure(0)
    assert b.allow(1)
    b.failure(1)
    assert b.state(2) == "open" and not b.allow(2)
    assert b.allow(12) and not b.allow(12)  # one trial only
    b.failure(12)
    assert b.state(13) == "open"
    assert b.allow(23)
    b.success()
    assert b.state(23) == "closed" and b.allow(23)
