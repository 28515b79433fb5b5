"""RTP packets (RFC 3550) as Asterisk's external media sends and takes them (pure).

What a real Asterisk 22 sent (recorded sessions): version 2, payload type 0 (µ-law), 160 bytes
of payload every 20 ms, one SSRC, contiguous sequence numbers, first header bytes
``80 00 c8 f7 00 00 00 a0``. It decodes only static payload types from us (0 or 8): audio
goes back as µ-law too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PT_ULAW = 0
FRAME_BYTES = 160
"""20 ms of 8 kHz µ-law."""
MAX_PACKET = 1500
"""Anything bigger is no audio frame of ours (a datagram over one Ethernet MTU)."""
_HEADER = struct.Struct("!BBHII")


class BadPacket(ValueError):
    """A datagram that is no RTP packet Hotline accepts; ``reason`` names why (for counters)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One parsed packet."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False


def parse(data: bytes) -> RtpPacket:
    """Parse one datagram; raises :class:`BadPacket` (``oversized``, ``short``, ``version``,
    ``padding``, ``extension``)."""
    if len(data) > MAX_PACKET:
        raise BadPacket("oversized")
    if len(data) < _HEADER.size:
        raise BadPacket("short")
    first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise BadPacket("version")
    offset = _HEADER.size + 4 * (first & 0x0F)  # CSRC list
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            raise BadPacket("extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte says how much
        if end <= offset or data[-1] == 0 or data[-1] > end - offset:
            raise BadPacket("padding")
        end -= data[-1]
    if offset > end:
        raise BadPacket("short")
    return RtpPacket(second & 0x7F, seq, ts, ssrc, bytes(data[offset:end]), bool(second & 0x80))


def build(payload: bytes, *, sequence: int, timestamp: int, ssrc: int,
          payload_type: int = PT_ULAW, marker: bool = False) -> bytes:
    """One packet: no CSRC, no extension, no padding."""
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    return _HEADER.pack(0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF,
                        ssrc & 0xFFFFFFFF) + payload


class RtpSender:
    """Numbers the outbound packets of one stream (sequence and timestamp advance per frame)."""

    def __init__(self, ssrc: int, sequence: int = 0) -> None:
        self.ssrc = ssrc
        self.sequence = sequence
        self.timestamp = 0
        self.first = True

    def packet(self, payload: bytes) -> bytes:
        data = build(payload, sequence=self.sequence, timestamp=self.timestamp, ssrc=self.ssrc,
                     marker=self.first)
        self.first = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + len(payload)) & 0xFFFFFFFF
        return data
