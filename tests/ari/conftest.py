"""A fake Asterisk (ARI, events websocket, RTP) and a Hotline serving it (127.0.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.testing.ari_peer import FakeAsterisk, FakeCaller
from ivr.testing.server import server_settings


def queue_plan(queue: str) -> str:
    """A one-key menu (1: an agent) whose ``agent`` node is ``queue: {QUEUE}``."""
    return f"""\
id: queues
languages: [en-US]
start: menu
nodes:
  menu:
    ask:
      prompt: {{en-US: "Press 1 for an agent."}}
      dtmf: {{"1": agent}}
      timeout: 5
      retries: 0
      fallback: agent
  agent:
    queue: {{{queue}}}
"""


def ari_settings(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, url: str,
                 **extra: Any) -> Any:
    ari = {"url": url, "password": "test-secret", "media_ports": "0",
           "reconnect_min": 0.05, "reconnect_max": 0.5, **extra.pop("ari", {})}
    return server_settings(tmp_path, sounds_dir, dialplan_dir, ari=ari, **extra)


@pytest.fixture
async def asterisk() -> AsyncIterator[FakeAsterisk]:
    async with FakeAsterisk() as peer:
        yield peer


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path,
                  asterisk: FakeAsterisk) -> AsyncIterator[Hotline]:
    app = Hotline(ari_settings(tmp_path, sounds_dir, dialplan_dir, asterisk.url))
    async with app.running():
        await asterisk.wait_connected()
        yield app


async def until(ready: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not ready():
            await asyncio.sleep(0.02)


async def stored(app: Hotline, call_id: str) -> tuple[Any, list[Any]]:
    """The call's row once it has ended, and its events."""
    for _ in range(100):
        assert await app.writer.wait_idle(5)
        row = await app.calls.get(call_id)
        if row is not None and row.ended_at is not None:
            return row, await app.calls.events(call_id)
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_id} was not stored")


async def last_call_id(app: Hotline) -> str:
    assert await app.writer.wait_idle(5)
    rows = await app.calls.recent(limit=1)
    return str(rows[0].id)


async def press_when_armed(app: Hotline, caller: FakeCaller, key: str,
                           timeout: float = 20.0) -> None:
    """Press ``key`` once Hotline plays a prompt that takes it (keys pressed during a prompt
    that takes none are dropped, as Asterisk does)."""
    assert app.ari is not None

    def armed() -> bool:
        session = app.ari.sessions.get(caller.channel.id) if app.ari else None
        keys = session.call.keys_armed if session is not None else None
        return bool(keys) and key in (keys or "")
    await until(armed, timeout)
    await caller.press(key, gap=0)
