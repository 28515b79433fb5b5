"""A running Hotline (FastAGI off to the side, web + WebRTC on 127.0.0.1:0) for WebRTC tests."""

from __future__ import annotations

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
