"""Web fixtures: a real server on 127.0.0.1:0 (see ivr.testing.web_harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.store.db import upgrade
from ivr.testing.web_harness import PASSWORD, WebServer, make_server
from ivr.web.passwords import hash_password


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
async def server(db_url: str, password_hash: str) -> AsyncIterator[WebServer]:
    """On SQLite and PostgreSQL."""
    async for s in make_server(db_url, password_hash):
        yield s


@pytest.fixture
async def real_server(tmp_path: Path, password_hash: str) -> AsyncIterator[WebServer]:
    """SQLite and the real encrypted recording store (browser tests)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'ivr.db'}"
    upgrade(url)
    async for s in make_server(url, password_hash, store="real", folder=tmp_path):
        yield s


