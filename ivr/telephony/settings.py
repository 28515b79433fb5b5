"""The ``agi`` section of the settings tree (``[agi]`` in ivr.toml, ``IVR_AGI__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from ivr.hostport import parse_hostport
from ivr.telephony.agi_allow import LOOPBACK, parse_network


class AgiSettings(BaseModel):
    """FastAGI server."""

    bind: str = "127.0.0.1:4573"
    header_timeout: float = 5.0
    """Seconds Asterisk has to send the whole environment block."""
    reply_timeout: float = 120.0
    """Longest wait for any single reply (prompts plus key timeouts are shorter)."""
    hangup_grace: float = 1.0
    """After ``result=-1``: how long to wait for the ``HANGUP`` line that tells a hang-up."""
    max_calls: int = 2000
    """Connections over this many are told to go to the default queue."""
    max_line_bytes: int = 8192
    allow: list[str] = Field(default_factory=lambda: list(LOOPBACK))
    """Addresses or networks (``10.0.0.0/8``) FastAGI connections may come from; any other
    peer is closed at once, logged (``agi-refused``, rate-limited) and counted."""

    @field_validator("bind")
    @classmethod
    def _bind(cls, v: str) -> str:
        parse_hostport(v)
        return v

    @field_validator("allow")
    @classmethod
    def _allow(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("empty: no Asterisk could connect (loopback is 127.0.0.0/8, ::1)")
        return [str(parse_network(entry)) for entry in v]


class AmiSettings(BaseModel):
    """Asterisk Manager Interface (queue position and wait, callbacks); empty host: off.
    Log in with a manager.conf user of its own (read: agent; write: originate)."""

    host: str = ""
    port: int = Field(5038, ge=1, le=65535)
    username: str = "hotline"
    secret: str = ""
    timeout: float = Field(1.5, gt=0, le=30)
    """Longest wait for one AMI answer; a call never waits longer for its announcement."""
    reconnect_min: float = Field(1.0, gt=0, le=60)
    reconnect_max: float = Field(30.0, gt=0, le=600)
    callback_channel: str = "Local/{number}@hotline-callback"
    """What Originate dials for a callback (``{number}``: the caller's number, digits and +)."""
    callback_attempts: int = Field(3, ge=1, le=20)
    callback_retry_seconds: float = Field(120.0, ge=1)
    callback_poll_seconds: float = Field(10.0, ge=0.1)
