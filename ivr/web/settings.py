"""Web settings: the server's address (``http``); session lifetimes, lockout policy,
cookies (``web``)."""

from __future__ import annotations

from pydantic import BaseModel, field_validator

from ivr.hostport import parse_hostport


class WebSettings(BaseModel):
    """How long sessions live, when accounts lock, how cookies are flagged."""

    session_idle_minutes: float = 30.0
    """A session unused this long ends."""
    session_max_hours: float = 12.0
    """A session ends this long after login, however busy."""
    max_failed_logins: int = 5
    """Consecutive wrong passwords that lock an account."""
    lockout_minutes: float = 15.0
    """How long a locked account refuses every login (even with the right password)."""
    cookie_secure: bool | None = None
    """Mark cookies ``Secure``: None = when the request came over HTTPS; set True behind a
    TLS-terminating proxy."""
    default_replay_reason: str = "supervisor replay"
    """Audit reason when a supervisor plays a recording without typing one."""


class HttpSettings(BaseModel):
    """Web server: /healthz, /metrics, REST."""

    bind: str = "127.0.0.1:8080"

    @field_validator("bind")
    @classmethod
    def _bind(cls, v: str) -> str:
        parse_hostport(v)
        return v
