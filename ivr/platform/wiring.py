"""Pick the configured platform backend (only ``ivr.app`` calls this)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.platform.demo import DemoPlatform
from ivr.platform.http import HttpPlatform
from ivr.platform.settings import PlatformSettings


def make_platform(settings: PlatformSettings, engine: AsyncEngine) -> DemoPlatform | HttpPlatform:
    if settings.backend == "http":
        return HttpPlatform(settings.http)
    return DemoPlatform(engine)
