"""Offer checks and the data channel protocol (pure functions)."""

from __future__ import annotations

import json

import pytest

from ivr.telephony.webrtc.events import BadMessage, caller_event, parse_caller_message
from ivr.telephony.webrtc.ice import allowed_peer, restrict_ice
from ivr.telephony.webrtc.sdp import WebRtcError, check_offer
from ivr.web.softphone import RateLimit

FP = "sha-256 " + ":".join(["AB"] * 32)
OFFER = (f"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:{FP}\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
         "a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host\r\n"
         "a=candidate:2 1 udp 2113937151 4f2c-abcd.local 50001 typ host\r\n")


def test_a_good_offer_passes_without_its_mdns_candidates() -> None:
    checked = check_offer(OFFER)
    assert checked.media == ("audio",) and checked.mdns_dropped == 1
    assert ".local" not in checked.sdp and "127.0.0.1 50000" in checked.sdp


@pytest.mark.parametrize(("sdp", "code"), [
    ("", "webrtc-bad-sdp"),
    (None, "webrtc-bad-sdp"),
    ("hello world", "webrtc-bad-sdp"),
    ("v=0\r\nthis is not sdp\r\n", "webrtc-bad-sdp"),
    ("v=0\r\ns=-\r\n", "webrtc-bad-sdp"),
    (OFFER.replace(f"a=fingerprint:{FP}\r\n", ""), "webrtc-no-dtls"),
    (OFFER.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"), "webrtc-no-dtls"),
    (OFFER.replace(FP, "sha-256 zz"), "webrtc-bad-sdp"),
    (OFFER.replace("m=audio", "m=video"), "webrtc-no-audio"),
    (OFFER + "a=x:" + "y" * 20000 + "\r\n", "webrtc-sdp-too-large"),
])
def test_bad_offers_are_refused_with_a_clear_code(sdp: object, code: str) -> None:
    with pytest.raises(WebRtcError) as err:
        check_offer(sdp)
    assert err.value.code == code


def test_caller_messages() -> None:
    assert parse_caller_message('{"type": "dtmf", "digits": "12#"}').digits == "12#"
    assert parse_caller_message(b'{"type": "hangup"}').type == "hangup"
    for raw, code in [("nope", "webrtc-bad-message"), ("[1]", "webrtc-bad-message"),
                      ('{"type": "dtmf", "digits": "x"}', "webrtc-bad-dtmf"),
                      ('{"type": "dtmf", "digits": 5}', "webrtc-bad-dtmf"),
                      ('{"type": "reboot"}', "webrtc-bad-message"),
                      (b"\xff\xfe", "webrtc-bad-message"),
                      (json.dumps({"type": "dtmf", "digits": "1" * 2000}),
                       "webrtc-message-too-large")]:
        with pytest.raises(BadMessage) as err:
            parse_caller_message(raw)
        assert err.value.code == code


def test_secrets_never_reach_the_caller() -> None:
    assert caller_event("collected", {"var": "pin", "secret": True}) == (
        "heard", {"mode": "dtmf", "collected": "pin"})
    assert caller_event("collected", {"var": "order", "digits": "1234"}) == (
        "heard", {"mode": "dtmf", "collected": "order"})
    assert caller_event("node_entered", {"node_kind": "verify"}) is None


def test_only_allowed_peers() -> None:
    restrict_ice(["127.0.0.1"])
    assert allowed_peer("127.0.0.1") and allowed_peer("127.0.0.5")
    assert not allowed_peer("10.1.2.3") and not allowed_peer("printer.local")


def test_rate_limit_per_address() -> None:
    limit = RateLimit(2)
    assert limit.allow("a", 0) and limit.allow("a", 1) and not limit.allow("a", 2)
    assert limit.allow("b", 2) and limit.allow("a", 61)
