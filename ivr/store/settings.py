"""The ``store`` and ``redis`` sections of the settings tree (``[store]`` in ivr.toml,
``IVR_STORE__*``; ``[redis]``, ``IVR_REDIS__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StoreSettings(BaseModel):
    """Database."""

    url: str | None = None
    """SQLAlchemy async URL; default sqlite+aiosqlite:///DIR/var/ivr.db."""
    flush_seconds: float = 0.05
    """Call events are written in batches at most this old."""
    start_timeout: float = 3.0
    lease_seconds: float = Field(15.0, ge=0.3, le=600)
    """An instance renews its lease in ``instances`` every third of this; another instance
    closes the calls of one whose lease has run out (``instance-lost``)."""


class RedisSettings(BaseModel):
    """Shared ephemeral state between instances (see docs/scale-out.md). Empty ``url``: none,
    each instance keeps that state in its own memory (one machine needs no Redis)."""

    url: str = ""
    """``redis://host:6379/0``; a password belongs in the URL from a secret, never in git."""
    timeout: float = Field(0.25, gt=0, le=10)
    """Longest one Redis command may take before the instance falls back to its own memory."""
    retry_seconds: float = Field(5.0, gt=0, le=600)
    """After a failure, how long the instance uses its own memory before trying Redis again."""
