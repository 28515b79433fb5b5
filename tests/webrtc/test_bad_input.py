"""Bad input over the wire: signalling errors, a garbage data channel, a vanished caller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from ivr.app import Hotline
from ivr.telephony.headless import HeadlessCaller, Step

from .conftest import base_url, make_settings, stored


async def post(url: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(
            f"{url}/api/webrtc/offer", **({"json": body} if body is not None else {}),
            **kwargs) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_signalling_errors_are_clear(hotline: Hotline) -> None:
    url = base_url(hotline)
    status, body = await post(url, {"type": "offer", "sdp": "v=0\r\ngarbage\r\n"})
    assert (status, body["error"]["code"]) == (400, "webrtc-bad-sdp")
    no_dtls = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
               "m=audio 9 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n")
    status, body = await post(url, {"type": "offer", "sdp": no_dtls})
    assert (status, body["error"]["code"]) == (400, "webrtc-no-dtls")
    status, body = await post(url, {"type": "answer"})
    assert (status, body["error"]["code"]) == (400, "webrtc-bad-request")
    status, body = await post(url, None, data="sdp=1",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415
    status, body = await post(url, {"type": "offer", "sdp": "v=0"},
                              headers={"Origin": "http://evil.example"})
    assert status == 403
    status, body = await post(url, {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 6000})
    assert status == 413
    assert hotline.webrtc is not None and not hotline.webrtc.sessions


async def test_softphone_page_is_public_and_may_use_the_microphone(hotline: Hotline) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url(hotline)}/softphone") as r:
        assert r.status == 200
        assert "Call Acme Pay" in await r.text()
        assert r.headers["Permissions-Policy"].startswith("microphone=(self)")
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]


async def test_offers_are_rate_limited(tmp_path: Path, sounds_dir: Path,
                                       dialplan_dir: Path) -> None:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir,
                                webrtc={"offers_per_minute": 2}))
    async with app.running():
        codes = [(await post(base_url(app), {"type": "offer", "sdp": "x"}))[0]
                 for _ in range(3)]
    assert codes == [400, 400, 429]


class GarbageCaller(HeadlessCaller):
    """Sends junk on the data channel before pressing keys like a normal caller."""

    async def _run_steps(self, channel: Any) -> None:
        await self._until(lambda: channel.readyState == "open", 5)
        for junk in ["not json", "[]", '{"type": "reboot"}', '{"type": "dtmf", "digits": "x"}',
                     "x" * 5000, b"\x00\xff"]:
            channel.send(junk)
        await super()._run_steps(channel)


async def test_garbage_on_the_data_channel_is_refused_and_the_call_goes_on(
        hotline: Hotline) -> None:
    report = await GarbageCaller(base_url(hotline), [Step("press", keys="1"),
                                                     Step("press", keys="3")],
                                 max_seconds=40, step_timeout=20).run()
    errors = [e["code"] for e in report.events if e["type"] == "error"]
    assert errors == ["webrtc-bad-message", "webrtc-bad-message", "webrtc-bad-message",
                      "webrtc-bad-dtmf", "webrtc-message-too-large", "webrtc-bad-message"]
    assert report.outcome == "queued" and report.queue == "card_services"


class VanishingCaller(HeadlessCaller):
    """Stops sending anything (no hang-up, no DTLS close) once Hotline starts talking."""

    async def _run_steps(self, channel: Any) -> None:
        await self._until(lambda: bool(self.report.prompts), 10)
        pc = channel.transport.transport.transport.iceGatherer  # SCTP → DTLS → ICE
        for protocol in pc._connection._protocols:
            protocol.transport.close()  # the network is gone: nothing more leaves or arrives
        self.vanished = True


async def test_a_caller_who_vanishes_is_noticed_and_freed(hotline: Hotline) -> None:
    caller = VanishingCaller(base_url(hotline), [], max_seconds=8)
    report = await caller.run()
    row, events = await stored(hotline, report.call_id)
    assert row.outcome == "abandoned"
    assert hotline.webrtc is not None and not hotline.webrtc.sessions


async def test_long_silence_is_ended_by_the_call_limit(tmp_path: Path, sounds_dir: Path,
                                                       dialplan_dir: Path) -> None:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir,
                                webrtc={"max_call_seconds": 2.0}))
    async with app.running():
        report = await HeadlessCaller(base_url(app), [], max_seconds=20).run()
        row, _ = await stored(app, report.call_id)
    assert report.seconds < 5 and any(e["type"] == "bye" for e in report.events)
    assert row.outcome == "abandoned"
    assert json.dumps(report.as_json())
