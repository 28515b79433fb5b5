"""Shared fixtures: databases (SQLite always, PostgreSQL when make test started one)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("IVR_TEST_PG_URL")
# Whisper base (Mandarin) is joined from its two packages once, into the checkout's var/models
# where `make run` keeps it too, instead of once per test data folder (145 MB each).
os.environ.setdefault("IVR_SPEECH__MODELS_DIR", str(ROOT / "var" / "models"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend the store supports."""
    from ivr.store.db import upgrade
    from ivr.testing.postgres import reset_postgres

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'ivr.db'}"
    else:
        if not PG_URL:
            pytest.skip("IVR_TEST_PG_URL not set (make test starts PostgreSQL and sets it)")
        url = PG_URL
        reset_postgres(url)
    upgrade(url)
    yield url


OPEN_ALL_DAY = 'weekly:\n        daily: "00:00-24:00"'


@pytest.fixture(scope="session")
def dialplan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped hotline dialplan, but open around the clock (tests must not depend on
    the hour they run at; business hours have tests of their own)."""
    folder = tmp_path_factory.mktemp("dialplans")
    text = (ROOT / "dialplans" / "hotline.yaml").read_text(encoding="utf-8")
    start = text.index("weekly:")
    end = text.index("\n", text.index("holidays:"))
    (folder / "hotline.yaml").write_text(
        text[:start] + OPEN_ALL_DAY + "\n      holidays: []" + text[end:], encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def sounds_dir(tmp_path_factory: pytest.TempPathFactory, dialplan_dir: Path) -> Path:
    """Every hotline prompt rendered once per test session (real pyttsx3 + espeak-ng)."""
    from ivr.app import make_renderer
    from ivr.config import load_settings
    from ivr.flow.loader import load_file
    from ivr.flow.prompts import plan_texts

    folder = tmp_path_factory.mktemp("sounds")
    settings = load_settings(tmp_path_factory.mktemp("render"),
                             {"prompts": {"sounds_dir": str(folder)}})
    loaded, problems = load_file(dialplan_dir / "hotline.yaml")
    assert loaded is not None, problems
    texts = set(plan_texts(loaded.plan))
    texts |= {(t, lang) for lang, t in settings.dialplans.apology.items()}

    async def render() -> None:
        renderer = make_renderer(settings)
        try:
            await renderer.render_all(sorted(texts))
        finally:
            await renderer.aclose()

    asyncio.run(render())
    return folder


REDIS_URL = os.environ.get("IVR_TEST_REDIS_URL")


@pytest.fixture
def redis_url() -> str:
    """The Redis ``make test`` starts (scripts/start-redis.sh); each test keys under its own
    prefix, so tests running at once never meet."""
    if not REDIS_URL:
        pytest.skip("IVR_TEST_REDIS_URL not set (make test starts Redis and sets it)")
    return REDIS_URL


@pytest.fixture
def hotline_settings(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> Any:
    """Settings of an in-process `ivr serve` on the shipped dialplan, FastAGI and HTTP on free
    loopback ports, every other setting its default."""
    from ivr.config import load_settings
    from ivr.datadir import prepare

    overrides: dict[str, Any] = {
        "agi": {"bind": "127.0.0.1:0", "header_timeout": 0.5, "hangup_grace": 0.3},
        "http": {"bind": "127.0.0.1:0"}, "prompts": {"sounds_dir": str(sounds_dir)},
        "dialplans": {"dir": str(dialplan_dir), "poll_seconds": 0.1},
        "store": {"flush_seconds": 0.01}, "drain_seconds": 2.0}
    settings = load_settings(tmp_path, overrides)
    prepare(settings)
    return settings

