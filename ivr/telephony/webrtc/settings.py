"""The ``webrtc`` section of the settings tree (``[webrtc]`` in ivr.toml, ``IVR_WEBRTC__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class WebRtcSettings(BaseModel):
    """The browser softphone and ``ivr call``: WebRTC (DTLS-SRTP) calls over aiortc."""

    enabled: bool = True
    route: str = "hotline"
    """The dialplan WebRTC callers reach."""
    addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    """The only local addresses offered as ICE host candidates (``--webrtc-address``)."""
    peer_networks: list[str] = Field(default_factory=list)
    """Networks callers may reach us from (CIDR); empty: loopback plus ``addresses``. ICE
    candidates and STUN from anywhere else are ignored."""
    stun: list[str] = Field(default_factory=list)
    """STUN servers (``stun:host:port``); off by default."""
    max_calls: int = Field(50, ge=1, le=10000)
    """Calls running the dialplan at once; more callers hear "all lines are busy"."""
    busy_calls: int = Field(10, ge=0, le=1000)
    """Extra sessions that only play the busy message; beyond them offers get HTTP 503."""
    busy_message: dict[str, str] = Field(default_factory=lambda: {
        "en-US": "Sorry, all lines are busy. Please call again in a few minutes. Goodbye.",
        "zh-CN": "抱歉，所有线路正忙，请稍后再拨。再见。",
    })
    hold_music_seconds: float = Field(0.0, ge=0, le=600)
    """After a queue transfer (no agents in the embedded default): hold music, then the end."""
    max_call_seconds: float = Field(3600.0, gt=0)
    """A call longer than this is ended (a forgotten browser tab)."""
    media_timeout: float = Field(15.0, gt=0)
    """No audio packet from the caller for this long: the caller is gone."""
    connect_timeout: float = Field(15.0, gt=0)
    """From the answer to a connected DTLS transport."""
    offers_per_minute: int = Field(30, ge=1)
    """Offers one client address may post per minute."""

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        import ipaddress

        if not v:
            raise ValueError("give at least one address (127.0.0.1 for this machine only)")
        return [str(ipaddress.ip_address(a)) for a in v]
