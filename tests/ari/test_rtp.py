"""RTP packets and µ-law as the recorded Asterisk sends them; what Hotline refuses."""

from __future__ import annotations

import numpy as np
import pytest

from ivr.audio.g711 import ulaw_decode, ulaw_encode
from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.telephony.ari import rtp

RECORDED_HEADER = bytes.fromhex("8000c8f7000000a07bca7495")
"""The first packet Asterisk 22.10.1 sent (sessions/ari_ulaw.txt): seq 51447, ts 160."""


def test_the_recorded_header_parses() -> None:
    packet = rtp.parse(RECORDED_HEADER + b"\xff" * 160)
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (
        0, 51447, 160, 0x7BCA7495)
    assert len(packet.payload) == 160


def test_built_packets_round_trip_and_count_up() -> None:
    sender = rtp.RtpSender(ssrc=7, sequence=65535)
    first, second = rtp.parse(sender.packet(b"\x00" * 160)), rtp.parse(sender.packet(b"\x01" * 160))
    assert first.marker and not second.marker
    assert (first.sequence, second.sequence) == (65535, 0)
    assert second.timestamp - first.timestamp == 160


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x80" * 5, "short"),
    (b"\x40" + RECORDED_HEADER[1:] + b"\xff" * 160, "version"),
    (RECORDED_HEADER + b"\xff" * 2000, "oversized"),
    (bytes([0xA0]) + RECORDED_HEADER[1:] + b"\xff\x00", "padding"),
    (bytes([0x90]) + RECORDED_HEADER[1:], "extension"),
])
def test_bad_datagrams_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(rtp.BadPacket) as err:
        rtp.parse(data)
    assert err.value.reason == reason


def test_ulaw_round_trip_is_close() -> None:
    t = np.arange(8000) / 8000
    tone = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    back = ulaw_decode(ulaw_encode(tone))
    assert np.max(np.abs(back.astype(int) - tone)) < 12000 * 0.04
    assert ulaw_decode(b"\xff\x7f") .tolist() == [0, 0]  # µ-law's two zeros


def test_ari_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("IVR_ARI__URL", "http://127.0.0.1:8088/")
    monkeypatch.setenv("IVR_ARI__MEDIA_PORTS", "41000-41099")
    monkeypatch.setenv("IVR_AMI__HOST", "127.0.0.1")
    settings = load_settings(tmp_path)
    assert settings.ari.url == "http://127.0.0.1:8088"
    assert settings.ari.port_range == (41000, 41099)
    assert (settings.ari.app, settings.ari.continue_context, settings.ari.continue_extension,
            settings.ari.continue_priority) == ("hotline", "hotline", "route", 1)
    assert settings.ami.host == "127.0.0.1"
    monkeypatch.setenv("IVR_ARI__MEDIA_PORTS", "9-1")
    with pytest.raises(ConfigError):
        load_settings(tmp_path)
