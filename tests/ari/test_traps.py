"""The traps other ARI projects fell into, and bad input: each one against `ivr serve`."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from ivr.app import Hotline
from ivr.telephony.ari import rtp
from ivr.testing.ari_peer import FakeAsterisk, FakeCaller

from .conftest import ari_settings, press_when_armed, stored, until

KEYS_PLAN = """\
id: hotline
languages: [en-US]
start: menu
fallback: agent
nodes:
  menu:
    ask:
      prompt: {en-US: "For a lost card, press 3. For an agent, press 0."}
      dtmf: {"3": lost_card, "0": agent}
      timeout: 5
      retries: 1
  lost_card:
    queue: {name: card_services, priority: 7, prompt: {en-US: "We will block your card."}}
  agent:
    queue: {name: customer_service}
"""


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path,
                  asterisk: FakeAsterisk) -> AsyncIterator[Hotline]:
    """A short keypad line: these tests are about the wire, not the menus."""
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "hotline.yaml").write_text(KEYS_PLAN, encoding="utf-8")
    app = Hotline(ari_settings(tmp_path, sounds_dir, plans, asterisk.url))
    async with app.running():
        await asterisk.wait_connected()
        yield app


async def walk_to_card_services(app: Hotline, caller: FakeCaller) -> None:
    await caller.wait_media()
    await press_when_armed(app, caller, "3")
    await caller.wait_gone()


def card_services(caller: FakeCaller) -> bool:
    v = caller.channel.variables
    return caller.channel.continued == ("hotline", "route", 1) and (
        v.get("IVR_QUEUE"), v.get("IVR_PRIORITY"), v.get("IVR_OUTCOME")) == (
        "card_services", "7", "queued")


async def outcome_of(app: Hotline, caller: FakeCaller) -> tuple[str, str | None, str | None]:
    await until(lambda: app.ari is not None and caller.channel.id not in app.ari.sessions)
    assert await app.writer.wait_idle(5)
    for row in await app.calls.recent(limit=50):
        if row.uniqueid == caller.channel.id:
            full, _events = await stored(app, str(row.id))
            return full.outcome, full.queue, full.error_code
    raise AssertionError("call not stored")


async def test_twenty_calls_at_once(hotline: Hotline, asterisk: FakeAsterisk) -> None:
    callers = [await asterisk.call(f"+1555010{n:04d}") for n in range(20)]
    await asyncio.gather(*(walk_to_card_services(hotline, c) for c in callers))
    assert all(card_services(c) for c in callers)
    await until(lambda: not asterisk.leftovers())
    assert hotline.ari is not None and not hotline.ari.sessions


async def test_websocket_dropped_mid_call_and_restored(hotline: Hotline,
                                                      asterisk: FakeAsterisk) -> None:
    staying, leaving = await asterisk.call(), await asterisk.call("+15550100002")
    await staying.wait_media()
    await leaving.wait_media()
    await asterisk.drop_websockets()  # a clean close: still a disconnect
    await until(lambda: hotline.status()["ari"]["state"] != "connected")
    await asterisk.hangup(leaving.channel)  # nobody hears its events
    await asterisk.wait_connected(connects=2)
    await until(lambda: hotline.status()["ari"]["connected"])
    # After the rebuild, the vanished caller's call ended; the other goes on as if nothing.
    assert (await outcome_of(hotline, leaving))[0] == "abandoned"
    await walk_to_card_services(hotline, staying)
    assert card_services(staying)
    await until(lambda: not asterisk.leftovers())


async def test_a_restarted_hotline_cleans_up_what_the_dead_one_left(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, asterisk: FakeAsterisk) -> None:
    caller, media, bridge = asterisk.leave_in_app()
    app = Hotline(ari_settings(tmp_path, sounds_dir, dialplan_dir, asterisk.url))
    async with app.running():
        await until(lambda: caller.continued is not None and media.destroyed
                    and bridge not in asterisk.bridges)
    # The caller who sat in silence goes to the default queue; its media and bridge are gone.
    assert caller.continued == ("hotline", "default", 1)
    assert ("GET", "/ari/channels", {}) in asterisk.requests


async def test_application_replaced_is_alerted_and_not_fought(
        hotline: Hotline, asterisk: FakeAsterisk) -> None:
    auth = {"Authorization": aiohttp.encode_basic_auth(asterisk.username, asterisk.password)}
    async with aiohttp.ClientSession(headers=auth) as session, session.ws_connect(
            asterisk.url.replace("http", "ws") + "/ari/events?app=hotline"):
        await until(lambda: hotline.status()["ari"]["state"] == "replaced")
        await asyncio.sleep(1.0)  # several backoffs: a fighting client would be back
        assert asterisk.connects == 2
        metrics = await (await session.get(_base(hotline) + "/metrics")).text()
        health = await (await session.get(_base(hotline) + "/healthz")).json()
    assert health["ari"]["state"] == "replaced" and health["ari"]["connected"] is False
    assert 'ivr_errors_total{code="ari-app-replaced"} 1.0' in metrics
    assert 'ivr_ari_connected 0.0' in metrics


async def test_asterisk_restart_mid_call_does_not_wedge(hotline: Hotline,
                                                       asterisk: FakeAsterisk) -> None:
    before = await asterisk.call()
    await before.wait_media()
    asterisk.down = True
    await asterisk.restart()
    await until(lambda: hotline.status()["ari"]["state"] == "disconnected")
    asterisk.down = False
    await asterisk.wait_connected(connects=2)
    assert (await outcome_of(hotline, before))[0] == "abandoned"
    after = await asterisk.call()
    await walk_to_card_services(hotline, after)
    assert card_services(after)


async def test_ari_errors_send_the_caller_to_the_default_queue(
        hotline: Hotline, asterisk: FakeAsterisk) -> None:
    healthy = await asterisk.call("+15550100003")
    await healthy.wait_media()
    asterisk.fail("POST", "/ari/channels/externalMedia", 500)
    broken = await asterisk.call()
    await broken.wait_gone()
    # Never dead air: the dialplan's route sends the caller to customer_service.
    assert broken.channel.continued == ("hotline", "route", 1)
    assert broken.channel.variables["IVR_QUEUE"] == "customer_service"
    assert await outcome_of(hotline, broken) == ("queued", "customer_service", "ari-media-failed")
    asterisk.fail("POST", "/ari/bridges/", 422)  # addChannel refused
    refused = await asterisk.call()
    await refused.wait_gone()
    assert refused.channel.variables["IVR_QUEUE"] == "customer_service"
    await walk_to_card_services(hotline, healthy)  # the other call never noticed
    assert card_services(healthy)
    await until(lambda: not asterisk.leftovers())  # the refused call's media was deleted too


async def test_garbage_on_the_wire_touches_no_call(hotline: Hotline,
                                                  asterisk: FakeAsterisk) -> None:
    caller = await asterisk.call()
    await caller.wait_media()
    for junk in ("not json", "[1, 2]", '{"type": 5}', '{"type": "StasisStart", "channel": 7}',
                 '{"type": "ChannelDtmfReceived", "channel": {"id": "nope"}, "digit": "1"}'):
        await asterisk.send_raw(junk)
    await asterisk.send_raw(b"\x00\xff binary")
    assert hotline.ari is not None
    session = hotline.ari.sessions[caller.channel.id]
    endpoint = session.endpoint
    assert endpoint is not None
    host, port = endpoint.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:  # not Asterisk
        stranger.sendto(rtp.build(b"\xff" * 160, sequence=1, timestamp=1, ssrc=9), (host, port))
    caller.send_rtp(rtp.build(b"\x00" * 1600, sequence=1, timestamp=1, ssrc=9))  # 200 ms?!
    caller.send_rtp(b"\x80" * 1600)  # oversized: more than one MTU of anything
    caller.send_rtp(rtp.build(b"\x00" * 640, sequence=2, timestamp=2, ssrc=9,
                              payload_type=118))  # slin16: another codec
    await until(lambda: {"unknown-source", "codec"} <= set(endpoint.dropped))
    await walk_to_card_services(hotline, caller)
    assert card_services(caller)
    assert hotline.ari.bad_events == 4 and hotline.ari.state == "connected"
    assert np.abs(caller.heard()).max() > 1000


def _base(app: Hotline) -> str:
    assert app.http_address is not None
    host, port = app.http_address
    return f"http://{host}:{port}"
