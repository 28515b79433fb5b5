"""Verification fixtures: a real database with the demo customers and a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from security_harness import FAST_PIN, ROOT, Bench, Clock

from ivr.flow.engine import PublishedPlan
from ivr.flow.loader import load_file
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.security.service import VerificationService
from ivr.security.settings import SecuritySettings
from ivr.security.wiring import make_notifier
from ivr.store.db import make_engine


@pytest.fixture(scope="session")
def hotline_plan() -> PublishedPlan:
    loaded, problems = load_file(ROOT / "dialplans" / "hotline.yaml")
    assert loaded is not None, problems
    return PublishedPlan.compile(loaded.plan, 1)


@pytest.fixture
async def bench(db_url: str, tmp_path: Path, hotline_plan: PublishedPlan) -> AsyncIterator[Bench]:
    engine = make_engine(db_url)
    settings = SecuritySettings(pin=FAST_PIN)
    clock = Clock()
    pins = PinHasher(settings.pin)
    service = VerificationService(engine, settings,
                                  make_notifier(settings, engine, tmp_path / "var"),
                                  pins=pins, clock=clock)
    await seed(CustomerRepository(engine), pins)
    try:
        yield Bench(service, clock, hotline_plan, tmp_path / "var")
    finally:
        await engine.dispose()
