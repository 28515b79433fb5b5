"""The ``[security]`` section of the settings tree: lockout, one-time codes, PIN KDF, risk rules."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LockoutSettings(BaseModel):
    """Failed attempts per factor per customer, counted across calls."""

    max_failures: int = Field(3, ge=1, le=20)
    """Failures that lock a factor."""
    lock_seconds: float = Field(900.0, gt=0)
    """How long a locked factor stays locked (15 minutes)."""
    window_seconds: float = Field(86_400.0, gt=0)
    """Failures older than this (since the first in the run) no longer count."""


class OtpSettings(BaseModel):
    """One-time codes sent to the registered phone."""

    digits: int = Field(6, ge=6, le=8)
    ttl_seconds: float = Field(300.0, gt=0, le=3600)
    """A code expires this long after it was sent (5 minutes)."""
    max_sends: int = Field(3, ge=1, le=20)
    """Codes one customer may be sent per ``send_window_seconds``."""
    send_window_seconds: float = Field(900.0, gt=0)
    sink: Literal["embedded", "http"] = "embedded"
    """``embedded``: the outbox table plus ``var/otp-outbox.log`` (mode 0600), the stand-in
    for an SMS gateway; ``http``: POST to ``gateway_url``."""
    gateway_url: str | None = None
    gateway_token: str | None = None
    """Bearer token for the SMS gateway (keep it in IVR_SECURITY__OTP__GATEWAY_TOKEN)."""
    gateway_timeout: float = Field(5.0, gt=0, le=30)
    sender: str = "Acme Pay"


class PinSettings(BaseModel):
    """Argon2id cost for PIN hashes (see docs/verification.md for why these numbers)."""

    time_cost: int = Field(3, ge=1, le=20)
    memory_kib: int = Field(65_536, ge=8_192, le=1_048_576)
    parallelism: int = Field(1, ge=1, le=8)
    min_length: int = Field(4, ge=4, le=12)
    max_length: int = Field(6, ge=4, le=12)
    workers: int = Field(2, ge=1, le=64)
    """KDF runs at once (each takes ``memory_kib`` of RAM); more wait their turn."""


class RiskRule(BaseModel):
    """One rule for a sensitive change; ``kind`` says what it looks at."""

    id: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$")
    action: str = "change_phone"
    kind: Literal["recent_change", "attempts", "caller_mismatch", "recent_lockout"]
    days: float = 30.0
    """recent_change: a change made less than this many days ago."""
    hours: float = 24.0
    """attempts, recent_lockout: look back this many hours."""
    max: int = 2
    """attempts: more than this many attempts in ``hours``."""
    reason: str
    """Told to the review agent (no customer data here)."""


def default_risk_rules() -> list[RiskRule]:
    """The shipped rules for ``change_phone`` (override with ``[[security.risk_rules]]``)."""
    return [
        RiskRule(id="phone.recent_change", kind="recent_change", days=30,
                 reason="the phone number was changed less than 30 days ago"),
        RiskRule(id="phone.many_attempts", kind="attempts", hours=24, max=2,
                 reason="more than 2 phone change attempts in 24 hours"),
        RiskRule(id="phone.caller_mismatch", kind="caller_mismatch",
                 reason="the call does not come from the registered phone"),
        RiskRule(id="phone.recent_lockout", kind="recent_lockout", hours=24,
                 reason="a verification factor was locked in the last 24 hours"),
    ]


class SecuritySettings(BaseModel):
    """Caller verification."""

    default_region: str = Field("US", pattern=r"^[A-Z]{2}$")
    """Region for caller ids and phones keyed without a country code."""
    lockout: LockoutSettings = Field(default_factory=LockoutSettings)
    otp: OtpSettings = Field(default_factory=OtpSettings)
    pin: PinSettings = Field(default_factory=PinSettings)
    risk_rules: list[RiskRule] = Field(default_factory=default_risk_rules)
