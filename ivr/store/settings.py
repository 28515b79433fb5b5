"""The ``store`` section of the settings tree (``[store]`` in ivr.toml, ``IVR_STORE__*``)."""

from __future__ import annotations

from pydantic import BaseModel


class StoreSettings(BaseModel):
    """Database."""

    url: str | None = None
    """SQLAlchemy async URL; default sqlite+aiosqlite:///DIR/var/ivr.db."""
    flush_seconds: float = 0.05
    """Call events are written in batches at most this old."""
    start_timeout: float = 3.0
