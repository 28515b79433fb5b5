"""A running Hotline (FastAGI off to the side, web + WebRTC on 127.0.0.1:0) for WebRTC tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.testing.server import server_settings


def make_settings(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, **extra: Any) -> Any:
    webrtc = {"addresses": ["127.0.0.1"], "media_timeout": 3.0, "connect_timeout": 5.0,
              "offers_per_minute": 1000, **extra.pop("webrtc", {})}
    return server_settings(tmp_path, sounds_dir, dialplan_dir, webrtc=webrtc, **extra)


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> AsyncIterator[Hotline]:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir))
    async with app.running():
        yield app


def base_url(app: Hotline) -> str:
    assert app.http_address is not None
    host, port = app.http_address
    return f"http://{host}:{port}"


async def stored(app: Hotline, call_id: str | None) -> tuple[Any, list[Any]]:
    """The call's row once it has ended, and its events."""
    assert call_id is not None
    for _ in range(100):
        assert await app.writer.wait_idle(5)
        row = await app.calls.get(call_id)
        if row is not None and row.ended_at is not None:
            return row, await app.calls.events(call_id)
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_id} was not stored")
