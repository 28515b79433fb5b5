"""Verification test harness: a controllable clock and a caller walking the hotline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ivr.errors import CallHangup
from ivr.flow.engine import FlowEngine, Outcome, PublishedPlan
from ivr.security.service import VerificationService
from ivr.security.settings import PinSettings
from ivr.testing.fake_call import FakeCall
from ivr.testing.fakes import EventList, TextPrompts

ROOT = Path(__file__).resolve().parents[2]
OPEN = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
FAST_PIN = PinSettings(time_cost=1, memory_kib=8192)
"""Cheap KDF for flow tests; the bench and test_pins use the shipped cost."""


@dataclass
class Clock:
    now: datetime = OPEN

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Bench:
    """Everything a verification flow test needs."""

    service: VerificationService
    clock: Clock
    plan: PublishedPlan
    var_dir: Path
    calls: int = 0

    async def walk(self, script: list[str | None], *, caller: str | None = "+15551234567",
                   verifier: Any = None) -> tuple[Outcome, FakeCall, EventList]:
        self.calls += 1
        call = FakeCall(list(script))
        call.info = replace(call.info, caller=caller, call_id=f"fake{self.calls:04d}")
        events = EventList()
        engine = FlowEngine(call, self.plan, TextPrompts(), events,
                            default_queue="customer_service", clock=lambda: OPEN,
                            verifier=verifier or self.service)
        try:
            return await engine.run(), call, events
        except CallHangup:
            return Outcome("abandoned"), call, events


