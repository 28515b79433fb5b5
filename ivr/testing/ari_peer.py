"""A fake Asterisk for ARI tests: REST, the events websocket and external media RTP.

Built from the recorded sessions of Asterisk 22.10.1 (``shared/asterisk/sessions/ari_*.txt``):
the same JSON shapes (channel, dialplan, ``StasisStart`` with ``args``, ``ChannelDtmfReceived``
with ``duration_ms: 100``), the same answers (204 for answer/variable/continue/addChannel/
DELETE, 200 with the channel for externalMedia and its ``channelvars``, 422 ``Channel not in
Stasis application`` when bridging a channel that has not entered the app), and the same
media: µ-law RTP, 160 bytes every 20 ms, from the port it reports as
``UNICASTRTP_LOCAL_PORT``, once both channels share a bridge. Media channels never leave by
themselves, as in Asterisk.

Faults for tests: :meth:`FakeAsterisk.fail` (the next matching requests answer a status),
:meth:`drop_websockets`, :meth:`send_raw` (garbage on the websocket), :meth:`restart`
(every channel and bridge gone), a second client on the same app (``ApplicationReplaced``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from aiohttp import WSMsgType, web

from ivr.audio.frames import Samples
from ivr.audio.g711 import ulaw_decode, ulaw_encode
from ivr.telephony.ari import rtp

ASTERISK_ID = "02:fc:00:00:00:01"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())


@dataclass
class FakeChannel:
    """One channel as Asterisk describes it, plus what the tests look at."""

    id: str
    name: str
    caller_number: str = ""
    caller_name: str = ""
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    app_name: str = ""
    app_data: str = ""
    state: str = "Up"
    language: str = "en"
    variables: dict[str, str] = field(default_factory=dict)
    channelvars: dict[str, str] | None = None
    in_app: bool = False
    continued: tuple[str, str, int] | None = None
    destroyed: bool = False
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the channel left the application (continued, hung up or deleted)."""
    # Media (UnicastRTP channels): Asterisk's socket and where it sends.
    media: Any = None

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "name": self.name, "state": self.state, "protocol_id": "",
            "caller": {"name": self.caller_name, "number": self.caller_number},
            "connected": {"name": self.caller_name, "number": self.caller_number},
            "accountcode": "",
            "dialplan": {"context": self.context, "exten": self.exten,
                         "priority": self.priority, "app_name": self.app_name,
                         "app_data": self.app_data},
            "creationtime": _now(), "language": self.language}
        if self.channelvars is not None:
            body["channelvars"] = dict(self.channelvars)
        return body


class _Media(asyncio.DatagramProtocol):
    """Asterisk's side of one external media channel."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.received: list[tuple[float, bytes]] = []
        self.payload_types: list[int] = []
        self.outbox: list[Samples] = []
        self.sending: asyncio.Task[None] | None = None
        self.said_started_at: float | None = None
        """When the first frame of the last ``say`` left (speech onset at the caller)."""
        self.said_ended_at: float | None = None
        """When the last frame of the last ``say`` left (end of the caller's speech)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            packet = rtp.parse(data)
        except rtp.BadPacket:
            return
        self.payload_types.append(packet.payload_type)
        if packet.payload_type == rtp.PT_ULAW:  # other payload types are dropped, as Asterisk
            self.received.append((time.monotonic(), packet.payload))

    async def send_loop(self) -> None:
        """160 bytes of µ-law every 20 ms (the caller's voice, else silence)."""
        seq, ts, ssrc = 51447, 160, 0x7BCA7495  # as recorded
        start = time.monotonic()
        frames = 0
        pending = np.zeros(0, np.int16)
        while True:
            if len(pending) < 160 and self.outbox:
                if not len(pending):
                    self.said_started_at = time.monotonic()
                pending = np.concatenate([pending, self.outbox.pop(0)])
            chunk, pending = pending[:160], pending[160:]
            if len(chunk) and not len(pending) and not self.outbox:
                self.said_ended_at = time.monotonic()
            if len(chunk) < 160:
                chunk = np.concatenate([chunk, np.zeros(160 - len(chunk), np.int16)])
            if self.transport is not None and self.remote is not None:
                self.transport.sendto(rtp.build(ulaw_encode(chunk), sequence=seq, timestamp=ts,
                                                ssrc=ssrc), self.remote)
            seq, ts, frames = (seq + 1) & 0xFFFF, ts + 160, frames + 1
            await asyncio.sleep(max(0.0, start + frames * 0.02 - time.monotonic()))


class FakeCaller:
    """A caller the test drives: keys, speech, hang-up; what it heard and where it went."""

    def __init__(self, peer: FakeAsterisk, channel: FakeChannel) -> None:
        self.peer = peer
        self.channel = channel

    @property
    def media(self) -> _Media | None:
        partner = self.peer.partner(self.channel.id)
        return partner.media if partner is not None else None

    async def wait_media(self, timeout: float = 30.0) -> None:
        """Until Hotline has bridged this caller with its media channel."""
        async with asyncio.timeout(timeout):
            while self.media is None or self.media.remote is None:  # noqa: ASYNC110 (poll)
                await asyncio.sleep(0.01)

    async def press(self, digits: str, gap: float = 0.35) -> None:
        for digit in digits:
            await self.peer.emit("ChannelDtmfReceived", self.channel, digit=digit,
                                 duration_ms=100)
            await asyncio.sleep(gap)

    def say(self, samples: Samples) -> None:
        """Queue 8 kHz speech into the call (sent on the media's 20 ms clock)."""
        media = self.media
        assert media is not None, "not bridged yet"
        media.outbox.append(np.asarray(samples, np.int16))

    def heard(self, since: float = 0.0) -> Samples:
        """Everything Hotline played to this caller (8 kHz)."""
        media = self.media or self.peer.last_media.get(self.channel.id)
        if media is None:
            return np.zeros(0, np.int16)
        payload = b"".join(p for t, p in media.received if t >= since)
        return ulaw_decode(payload)

    def loud_times(self, threshold: float = 500.0) -> list[float]:
        """Arrival times of packets with audible audio."""
        media = self.media or self.peer.last_media.get(self.channel.id)
        if media is None:
            return []
        return [t for t, p in media.received
                if np.sqrt(np.mean(ulaw_decode(p).astype(np.float64) ** 2)) > threshold]

    def send_rtp(self, data: bytes) -> None:
        """Send one raw datagram from Asterisk's media address (a bad packet, another codec)."""
        media = self.media
        assert media is not None and media.transport is not None and media.remote is not None
        media.transport.sendto(data, media.remote)

    async def hangup(self) -> None:
        await self.peer.hangup(self.channel)

    async def wait_gone(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            await self.channel.gone.wait()


class FakeAsterisk:
    """The ARI side of one Asterisk on 127.0.0.1 (``url`` once started)."""

    def __init__(self, app: str = "hotline", username: str = "hotline",
                 password: str = "test-secret", *, media_start_delay: float = 0.0) -> None:
        self.app = app
        self.username, self.password = username, password
        self.media_start_delay = media_start_delay
        self.channels: dict[str, FakeChannel] = {}
        self.bridges: dict[str, dict[str, Any]] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.faults: list[tuple[str, str, int]] = []
        self.last_media: dict[str, _Media] = {}
        self.connects = 0
        self.down = False
        self._ids = itertools.count(2)
        self._names = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.url = ""

    # Server -------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(middlewares=[self._auth])
        r = app.router
        r.add_get("/ari/events", self._events)
        r.add_get("/ari/channels", self._list_channels)
        r.add_get("/ari/bridges", self._list_bridges)
        r.add_post("/ari/channels/externalMedia", self._external_media)
        r.add_get("/ari/channels/{id}/variable", self._get_var)
        r.add_post("/ari/channels/{id}/answer", self._answer)
        r.add_post("/ari/channels/{id}/variable", self._set_var)
        r.add_post("/ari/channels/{id}/continue", self._continue)
        r.add_delete("/ari/channels/{id}", self._delete_channel)
        r.add_post("/ari/bridges", self._create_bridge)
        r.add_post("/ari/bridges/{id}/addChannel", self._add_channel)
        r.add_delete("/ari/bridges/{id}", self._delete_bridge)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for channel in self.channels.values():
            self._close_media(channel)
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeAsterisk:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.down:
            raise web.HTTPServiceUnavailable()
        header = request.headers.get("Authorization", "")
        given = request.query.get("api_key", "")
        if header.startswith("Basic "):
            given = base64.b64decode(header[6:]).decode("utf-8", "replace")
        if given != f"{self.username}:{self.password}":
            return web.json_response({"message": "Authentication required"}, status=401)
        self.requests.append((request.method, request.path, dict(request.query)))
        for i, (method, prefix, status) in enumerate(self.faults):
            if request.method == method and request.path.startswith(prefix):
                del self.faults[i]
                return web.json_response({"message": "Injected fault"}, status=status)
        response: web.StreamResponse = await handler(request)
        return response

    @staticmethod
    def _json(body: Any, status: int = 200) -> web.Response:
        return web.json_response(body, status=status)

    def fail(self, method: str, path_prefix: str, status: int, times: int = 1) -> None:
        """The next ``times`` requests ``METHOD /ari/...prefix`` answer ``status``."""
        self.faults += [(method, path_prefix, status)] * times

    def _listed(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if not c.destroyed]

    # Events websocket ---------------------------------------------------------------
    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("app") != self.app:
            raise web.HTTPBadRequest()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connects += 1
        for old in list(self.sockets):  # a second client takes the app over
            with contextlib.suppress(Exception):
                await old.send_str(json.dumps({"type": "ApplicationReplaced", "timestamp": _now(),
                                               "application": self.app,
                                               "asterisk_id": ASTERISK_ID}))
                await old.close()
            self.sockets.remove(old)
        self.sockets.append(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    async def emit(self, kind: str, channel: FakeChannel | None, **fields: Any) -> None:
        event: dict[str, Any] = {"type": kind, "timestamp": _now(), **fields}
        if channel is not None:
            event["channel"] = channel.json()
        event.update(asterisk_id=ASTERISK_ID, application=self.app)
        await self.send_raw(json.dumps(event))

    async def send_raw(self, text: str | bytes) -> None:
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                if isinstance(text, bytes):
                    await ws.send_bytes(text)
                else:
                    await ws.send_str(text)

    async def drop_websockets(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        self.sockets.clear()

    async def wait_connected(self, connects: int = 1, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while self.connects < connects or not self.sockets:  # noqa: ASYNC110 (poll)
                await asyncio.sleep(0.01)

    # Callers ------------------------------------------------------------------------
    async def call(self, number: str = "+15551234567", args: tuple[str, ...] = ("8005550100",),
                   *, name: str = "Sim Caller") -> FakeCaller:
        """A caller enters ``Stasis(hotline,ARGS)`` from ``[ivr-ari]``."""
        seq = next(self._names)
        channel = FakeChannel(id=f"1795605258.{next(self._ids)}",
                              name=f"PJSIP/caller-{seq:08x}", caller_number=number,
                              caller_name=name, context="ivr-ari", exten="s", priority=7,
                              app_name="Stasis", app_data=",".join((self.app, *args)),
                              in_app=True)
        self.channels[channel.id] = channel
        await self.emit("StasisStart", channel, args=list(args))
        return FakeCaller(self, channel)

    def partner(self, channel_id: str) -> FakeChannel | None:
        """The media channel bridged with ``channel_id``, if any."""
        for bridge in self.bridges.values():
            if channel_id in bridge["channels"]:
                for other in bridge["channels"]:
                    partner = self.channels.get(other)
                    if partner is not None and partner.media is not None:
                        return partner
        return None

    async def hangup(self, channel: FakeChannel, cause: int = 16) -> None:
        if channel.destroyed:
            return
        await self.emit("ChannelHangupRequest", channel, cause=cause)
        await self._destroy(channel)

    async def _destroy(self, channel: FakeChannel) -> None:
        for bridge in self.bridges.values():
            if channel.id in bridge["channels"]:
                bridge["channels"].remove(channel.id)
                await self.emit("ChannelLeftBridge", channel, bridge=dict(bridge))
        if channel.in_app:
            channel.in_app = False
            await self.emit("StasisEnd", channel)
        channel.destroyed = True
        self._close_media(channel)
        await self.emit("ChannelDestroyed", channel, cause=16, cause_txt="Normal Clearing")
        channel.gone.set()

    def _close_media(self, channel: FakeChannel) -> None:
        if channel.media is not None:
            if channel.media.sending is not None:
                channel.media.sending.cancel()
            if channel.media.transport is not None:
                channel.media.transport.close()

    async def restart(self) -> None:
        """Asterisk restarts: websockets drop, every channel and bridge is gone at once."""
        await self.drop_websockets()
        for channel in self.channels.values():
            self._close_media(channel)
            channel.destroyed = True
            channel.gone.set()
        self.bridges.clear()

    def leave_in_app(self) -> tuple[FakeChannel, FakeChannel, str]:
        """What a Hotline that died mid-call leaves behind: its caller sitting in Stasis in
        silence, its external media channel and its bridge (no events: nobody listens)."""
        caller = FakeChannel(id=f"1795605258.{next(self._ids)}", name="PJSIP/caller-orphan",
                             caller_number="+15550100777", context="ivr-ari", priority=7,
                             app_name="Stasis", app_data=f"{self.app},8005550100", in_app=True)
        media = FakeChannel(id=f"1795605258.{next(self._ids)}",
                            name="UnicastRTP/127.0.0.1:40999-0x7f67f40070d0", app_name="Stasis",
                            app_data=self.app, in_app=True, media=_Media(),
                            channelvars={"UNICASTRTP_LOCAL_PORT": "10088",
                                         "UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1"})
        bridge_id = str(uuid.uuid4())
        self.bridges[bridge_id] = {"id": bridge_id, "technology": "simple_bridge",
                                   "bridge_type": "mixing", "bridge_class": "stasis",
                                   "creator": "Stasis", "name": f"{self.app}-deadbeef",
                                   "channels": [caller.id, media.id], "creationtime": _now(),
                                   "video_mode": "talker"}
        self.channels[caller.id] = caller
        self.channels[media.id] = media
        return caller, media, bridge_id

    def leftovers(self) -> list[str]:
        """What ``GET /channels`` and ``GET /bridges`` still list beyond callers' own
        channels (media channels, bridges), by name."""
        media = [c.name for c in self._listed() if c.media is not None]
        bridges = [b["name"] for b in self.bridges.values()]
        return media + bridges

    # REST -----------------------------------------------------------------------------
    def _channel(self, request: web.Request) -> FakeChannel:
        channel = self.channels.get(request.match_info["id"])
        if channel is None or channel.destroyed:
            raise web.HTTPNotFound(text=json.dumps({"message": "Channel not found"}),
                                   content_type="application/json")
        return channel

    async def _list_channels(self, _: web.Request) -> web.Response:
        return self._json([c.json() for c in self._listed()])

    async def _list_bridges(self, _: web.Request) -> web.Response:
        return self._json(list(self.bridges.values()))

    async def _answer(self, request: web.Request) -> web.Response:
        self._channel(request).state = "Up"
        return web.Response(status=204)

    async def _set_var(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        name = request.query.get("variable")
        if not name:
            return self._json({"message": "Variable name is required"}, 400)
        channel.variables[name] = request.query.get("value", "")
        return web.Response(status=204)

    async def _get_var(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        name = request.query.get("variable", "")
        value = (channel.channelvars or {}).get(name, channel.variables.get(name))
        if value is None:
            return self._json({"message": "Provided variable was not found"}, 404)
        return self._json({"value": value})

    async def _continue(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if not channel.in_app:
            return self._json({"message": "Channel not in Stasis application"}, 409)
        q = request.query
        channel.continued = (q.get("context", ""), q.get("extension", ""),
                             int(q.get("priority", "1")))
        channel.context, channel.exten, channel.priority = channel.continued
        channel.app_name, channel.app_data = "Queue", ""
        for bridge in self.bridges.values():
            if channel.id in bridge["channels"]:
                bridge["channels"].remove(channel.id)
        channel.in_app = False
        self._spawn(self._after_continue(channel))
        return web.Response(status=204)

    async def _after_continue(self, channel: FakeChannel) -> None:
        await self.emit("StasisEnd", channel)
        channel.gone.set()

    async def _delete_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self._spawn(self._hangup_requested(channel))
        return web.Response(status=204)

    async def _hangup_requested(self, channel: FakeChannel) -> None:
        await self.emit("ChannelHangupRequest", channel, cause=32)
        await self._destroy(channel)

    async def _external_media(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("app") != self.app or not q.get("external_host"):
            return self._json({"message": "external_host and app are required"}, 400)
        if q.get("format") != "ulaw":
            return self._json({"message": "Unsupported format in this fake"}, 400)
        host, _, port = q["external_host"].rpartition(":")
        media = _Media()
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: media, local_addr=("127.0.0.1", 0))
        assert media.transport is not None
        local_port = media.transport.get_extra_info("sockname")[1]
        media.remote = None  # audio flows once bridged
        channel = FakeChannel(id=f"1795605258.{next(self._ids)}",
                              name=f"UnicastRTP/{host}:{port}-0x{next(self._names):012x}",
                              app_name="Stasis", app_data=self.app, media=media,
                              channelvars={"UNICASTRTP_LOCAL_PORT": str(local_port),
                                           "UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1"})
        channel.variables["_external"] = f"{host}:{port}"
        self.channels[channel.id] = channel
        self._spawn(self._media_enters(channel))
        return self._json(channel.json())

    async def _media_enters(self, channel: FakeChannel) -> None:
        await asyncio.sleep(self.media_start_delay)
        channel.in_app = True
        await self.emit("StasisStart", channel, args=[])

    async def _create_bridge(self, request: web.Request) -> web.Response:
        bridge_id = str(uuid.uuid4())
        bridge: dict[str, Any] = {"id": bridge_id, "technology": "simple_bridge",
                  "bridge_type": request.query.get("type", "mixing"), "bridge_class": "stasis",
                  "creator": "Stasis", "name": request.query.get("name", ""), "channels": [],
                  "creationtime": _now(), "video_mode": "talker"}
        self.bridges[bridge_id] = bridge
        return self._json(bridge)

    async def _add_channel(self, request: web.Request) -> web.Response:
        bridge = self.bridges.get(request.match_info["id"])
        if bridge is None:
            return self._json({"message": "Bridge not found"}, 404)
        ids = [i for i in request.query.get("channel", "").split(",") if i]
        for cid in ids:
            channel = self.channels.get(cid)
            if channel is None or channel.destroyed:
                return self._json({"message": "Channel not found"}, 400)
            if not channel.in_app:
                return self._json({"message": "Channel not in Stasis application"}, 422)
        for cid in ids:
            bridge["channels"].append(cid)
        self._connect_media(bridge)
        return web.Response(status=204)

    def _connect_media(self, bridge: dict[str, Any]) -> None:
        members = [self.channels[c] for c in bridge["channels"]]
        callers = [c for c in members if c.media is None]
        for member in members:
            media = member.media
            if media is None or not callers or media.remote is not None:
                continue
            host, _, port = member.variables["_external"].rpartition(":")
            media.remote = (host, int(port))
            media.sending = asyncio.ensure_future(media.send_loop())
            self.last_media[callers[0].id] = media

    async def _delete_bridge(self, request: web.Request) -> web.Response:
        bridge = self.bridges.pop(str(request.match_info["id"]), None)
        if bridge is None:
            return self._json({"message": "Bridge not found"}, 404)
        return web.Response(status=204)
