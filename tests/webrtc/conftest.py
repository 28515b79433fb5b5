"""A running Hotline (FastAGI off to the side, web + WebRTC on 127.0.0.1:0) for WebRTC tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline, prepare
from ivr.config import load_settings


def make_settings(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, **extra: Any) -> Any:
    overrides: dict[str, Any] = {
        "agi": {"bind": "127.0.0.1:0"},
        "http": {"bind": "127.0.0.1:0"},
        "prompts": {"sounds_dir": str(sounds_dir)},
        "dialplans": {"dir": str(dialplan_dir), "poll_seconds": 0.1},
        "store": {"flush_seconds": 0.01},
        "drain_seconds": 2.0,
        "recording": {"enabled": False},
        "webrtc": {"addresses": ["127.0.0.1"], "media_timeout": 3.0, "connect_timeout": 5.0,
                   "offers_per_minute": 1000},
    }
    for key, value in extra.items():
        overrides.setdefault(key, {}).update(value)
    settings = load_settings(tmp_path, overrides)
    prepare(settings)
    return settings


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> AsyncIterator[Hotline]:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir))
    async with app.running():
        yield app


def base_url(app: Hotline) -> str:
    assert app.http_address is not None
    host, port = app.http_address
    return f"http://{host}:{port}"
