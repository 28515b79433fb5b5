"""Pure checks of a caller's SDP offer before aiortc sees it (no I/O).

An offer must be well formed, carry audio, and secure its media with DTLS: every media
section needs a certificate fingerprint (at session or media level) and an SRTP/DTLS
profile. Remote mDNS (``.local``) candidates are dropped here; the ICE layer refuses them too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.errors import IvrError

MAX_SDP_BYTES = 16 * 1024
_FINGERPRINT = re.compile(r"^(sha-1|sha-224|sha-256|sha-384|sha-512) ([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+)$")
_SECURE_PROTOS = {"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/DTLS/SCTP",
                  "DTLS/SCTP", "TCP/DTLS/SCTP", "TCP/TLS/RTP/SAVPF"}
_LINE = re.compile(r"^[a-z]=")


class WebRtcError(IvrError):
    """A WebRTC signalling or media problem (codes ``webrtc-*``)."""

    area = "webrtc"


@dataclass(frozen=True, slots=True)
class CheckedOffer:
    """An offer that passed the checks, with mDNS candidates removed."""

    sdp: str
    media: tuple[str, ...]
    """Kinds of media sections in order (``audio``, ``application``…)."""
    mdns_dropped: int = 0


def check_offer(sdp: object) -> CheckedOffer:
    """Validate an offer; raises :class:`WebRtcError` with ``webrtc-bad-sdp``,
    ``webrtc-no-audio``, ``webrtc-no-dtls`` or ``webrtc-sdp-too-large``."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise WebRtcError("webrtc-bad-sdp", "the offer has no SDP text")
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise WebRtcError("webrtc-sdp-too-large", f"SDP over {MAX_SDP_BYTES} bytes")
    lines = [ln for ln in sdp.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not lines or lines[0] != "v=0":
        raise WebRtcError("webrtc-bad-sdp", "SDP must start with v=0")
    for number, line in enumerate(lines, 1):
        if not _LINE.match(line) or any(ord(ch) < 32 for ch in line):
            raise WebRtcError("webrtc-bad-sdp", f"SDP line {number} is not type=value")
    session, sections = _split(lines)
    if not sections:
        raise WebRtcError("webrtc-bad-sdp", "SDP has no media section")
    session_fp = _fingerprints(session)
    kinds = []
    for section in sections:
        parts = section[0][2:].split()
        if len(parts) < 4 or not parts[1].isdigit():
            raise WebRtcError("webrtc-bad-sdp", f"malformed media line {section[0]!r}")
        kind, proto = parts[0], parts[2]
        kinds.append(kind)
        if parts[1] == "0":
            continue  # a rejected section
        if proto not in _SECURE_PROTOS:
            raise WebRtcError("webrtc-no-dtls", f"{kind} uses {proto}: media must be DTLS-SRTP")
        if not (session_fp or _fingerprints(section)):
            raise WebRtcError("webrtc-no-dtls",
                              f"the {kind} section has no DTLS fingerprint (a=fingerprint)")
    if "audio" not in kinds:
        raise WebRtcError("webrtc-no-audio", "the offer has no audio section")
    kept = [ln for ln in lines if not _is_mdns_candidate(ln)]
    return CheckedOffer("\r\n".join(kept) + "\r\n", tuple(kinds), len(lines) - len(kept))


def _split(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    session: list[str] = []
    sections: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session.append(line)
    return session, sections


def _fingerprints(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        if line.startswith("a=fingerprint:"):
            value = line[len("a=fingerprint:"):].strip()
            if not _FINGERPRINT.match(value):
                raise WebRtcError("webrtc-bad-sdp", f"malformed fingerprint {value[:40]!r}")
            found.append(value)
    return found


def _is_mdns_candidate(line: str) -> bool:
    if not line.startswith("a=candidate:"):
        return False
    parts = line.split()
    return len(parts) > 4 and parts[4].lower().rstrip(".").endswith(".local")
