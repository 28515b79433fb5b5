"""Web settings: the server's address (``http``); session lifetimes, lockout policy,
cookies (``web``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

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
    survey_texts: bool = True
    """Text a survey link (``/s/<token>``) to callers transferred to an agent (issue 16)."""
    survey_text_when: Literal["auto", "transfer", "agent_complete"] = "auto"
    """``transfer``: when Hotline hands the caller to the queue; ``agent_complete``: when the
    agent leg ends (AMI ``AgentComplete`` for the caller's channel); ``auto``:
    ``agent_complete`` when AMI is configured (``ami.host``), else ``transfer``."""
    survey_agent_wait_hours: float = Field(4.0, gt=0, le=72)
    """Waiting for ``AgentComplete`` (AMI down, event lost): after this long the link is
    sent anyway."""
    survey_link_hours: float = Field(72.0, gt=0, le=24 * 30)
    """How long a survey link may be answered (once)."""
    public_url: str | None = Field(None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    """Where callers reach this web server (``https://hotline.example.com``) for survey
    links; default: the ``http.bind`` address."""


class HttpSettings(BaseModel):
    """Web server: /healthz, /metrics, REST."""

    bind: str = "127.0.0.1:8080"

    @field_validator("bind")
    @classmethod
    def _bind(cls, v: str) -> str:
        parse_hostport(v)
        return v
