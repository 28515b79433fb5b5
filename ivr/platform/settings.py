"""The ``platform`` section of the settings tree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HttpPlatformSettings(BaseModel):
    """A real payment platform's API."""

    url: str = "http://127.0.0.1:9090/ivr/v1"
    token_file: str | None = None
    """File holding a bearer token (never in ivr.toml)."""
    connect_timeout: float = Field(1.0, gt=0, le=30)
    timeout: float = Field(3.0, gt=0, le=30)
    """Per attempt, whole request."""
    retries: int = Field(1, ge=0, le=5)
    """Extra attempts for reads (never for card blocking, which is not idempotent upstream)."""
    backoff: float = Field(0.2, ge=0, le=5)
    breaker_failures: int = Field(5, ge=1, le=100)
    breaker_reset_seconds: float = Field(30.0, gt=0, le=3600)


class PlatformSettings(BaseModel):
    """Self-service backend: ``demo`` (our own tables, ``ivr demo seed``) or ``http``."""

    backend: Literal["demo", "http"] = "demo"
    action_timeout: float = Field(5.0, gt=0, le=60)
    """Longest a caller waits for one action before the apology and a queue."""
    http: HttpPlatformSettings = Field(default_factory=HttpPlatformSettings)
