"""Pick the configured platform backend (only ``ivr.app`` calls this)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.platform.demo import DemoPlatform
from ivr.platform.http import HttpPlatform
from ivr.platform.settings import PlatformSettings
from ivr.store.shared import SharedState


def make_platform(settings: PlatformSettings, engine: AsyncEngine,
                  shared: SharedState | None = None) -> DemoPlatform | HttpPlatform:
    if settings.backend == "http":
        return HttpPlatform(settings.http, shared=shared)
    return DemoPlatform(engine)
