"""Web security settings: session lifetimes, lockout policy, cookies."""

from __future__ import annotations

from pydantic import BaseModel


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
