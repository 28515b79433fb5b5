"""The ``ari`` section of the settings tree (``[ari]`` in ivr.toml, ``IVR_ARI__*``)."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, Field, field_validator

_PORTS = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def parse_ports(text: str) -> tuple[int, int]:
    """``40000-40999`` (or one port; ``0``: any free port) as (low, high)."""
    match = _PORTS.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r}: give LOW-HIGH (e.g. 40000-40999) or one port")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 0 <= low <= high <= 65535 or (low == 0 and high != 0):
        raise ValueError(f"{text!r}: ports are 1..65535 with LOW <= HIGH (or 0 for any)")
    return low, high


class AriSettings(BaseModel):
    """Asterisk's REST interface: the ``hotline`` Stasis application with live audio."""

    url: str = ""
    """Asterisk's HTTP server, e.g. ``http://127.0.0.1:8088`` (``ivr serve --ari-url``);
    empty: no ARI controller."""
    username: str = "hotline"
    password: str = ""
    app: str = Field("hotline", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """The Stasis application (``Stasis(hotline[,DIALED[,DIALPLAN_ID]])``)."""
    media_host: str = "127.0.0.1"
    """Where Hotline receives the callers' audio (Asterisk sends RTP there)."""
    media_ports: str = "40000-40999"
    """UDP ports for that audio, one per call (``0``: any free port)."""
    continue_context: str = Field("hotline", pattern=r"^[A-Za-z0-9_-]{1,80}$")
    continue_extension: str = Field("route", pattern=r"^[A-Za-z0-9_+*#-]{1,80}$")
    continue_priority: int = Field(1, ge=1)
    """Where a call goes on in the dialplan when Hotline lets go (``hotline,route,1``);
    a call Hotline cannot serve goes to extension ``default`` of that context."""
    default_extension: str = Field("default", pattern=r"^[A-Za-z0-9_+*#-]{1,80}$")
    max_calls: int = Field(500, ge=1, le=10000)
    """Calls over this many go straight to the default queue."""
    request_timeout: float = Field(5.0, gt=0, le=60)
    media_start_timeout: float = Field(5.0, gt=0, le=60)
    """How long the external media channel has to enter the app before the call is given up
    (bridging it earlier answers 422)."""
    reconnect_min: float = Field(0.5, gt=0, le=60)
    reconnect_max: float = Field(10.0, gt=0, le=300)
    """Capped exponential backoff between websocket connection attempts."""
    max_call_seconds: float = Field(3600.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if v and not re.match(r"^https?://[^/\s]+$", v):
            raise ValueError(f"{v!r}: give the HTTP server as http://HOST:PORT")
        return v

    @field_validator("media_host")
    @classmethod
    def _host(cls, v: str) -> str:
        return str(ipaddress.ip_address(v))

    @field_validator("media_ports")
    @classmethod
    def _ports(cls, v: str) -> str:
        parse_ports(v)
        return v.strip()

    @property
    def port_range(self) -> tuple[int, int]:
        return parse_ports(self.media_ports)
