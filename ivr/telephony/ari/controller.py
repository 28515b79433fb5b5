"""The ARI CallSource: the events websocket in, one :class:`AriCall` per caller in Stasis.

Per caller (``StasisStart`` of a channel that is no media leg): answer, open a UDP endpoint,
create the external media channel (µ-law RTP), wait until it has entered the app (bridging
it earlier answers 422), bridge both, run the flow with prompts paced on a 20 ms clock. When
Hotline lets go (hang-up, transfer, error) it deletes the media channel and the bridge, and a
caller still there continues at ``continue_context,continue_extension,continue_priority``
(the same routing as FastAGI); a caller Hotline cannot serve goes on at the default queue.

The websocket reconnects with capped backoff; a clean close is a disconnect too. On every
(re)connect Hotline rebuilds its state from ``GET /channels`` and ``GET /bridges``: calls
whose channel vanished end ``abandoned``, the app's channels no live call owns continue at
``hotline,default,1`` (media and snoop channels are deleted), and its stray bridges go.
``ApplicationReplaced`` (another client took the app) is alerted and ends reconnecting, so
two servers never keep displacing each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ivr.errors import CallHangup, IvrError
from ivr.logs import CALL_ID
from ivr.telephony.ari.call import AriCall
from ivr.telephony.ari.client import AriClient, AriError
from ivr.telephony.ari.clock import MediaClock
from ivr.telephony.ari.media import RtpEndpoint, open_endpoint
from ivr.telephony.ari.rtp import RtpSender
from ivr.telephony.ari.settings import AriSettings
from ivr.telephony.call import Call, CallHandler, CallInfo, wait_ended
from ivr.telephony.webrtc.call import PromptLoader
from ivr.telephony.webrtc.tasks import CallTasks

_LOG = logging.getLogger(__name__)
MEDIA_PREFIXES = ("UnicastRTP/", "Snoop/", "WebSocket/")
"""Channels Hotline (or a crashed Hotline) made for media: never callers."""
DEFAULT_ROUTE = "hotline"
ORPHAN_GRACE = 1.0
"""Seconds after a (re)connect before the app's unowned channels count as strays (events
already on their way are handled first)."""
_ROUTE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TurnAway = Callable[[Call, str], Awaitable[None]]


@dataclass
class AriSession:
    """One caller and the media Hotline made for it."""

    call: AriCall
    media_up: asyncio.Event = field(default_factory=asyncio.Event)
    media_channel: str | None = None
    bridge: str | None = None
    endpoint: RtpEndpoint | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class AriController:
    """Runs every caller of the Stasis application with the handler given to ``serve()``."""

    def __init__(self, settings: AriSettings, loader: PromptLoader, *,
                 turn_away: TurnAway | None = None,
                 on_state: Callable[[str], None] | None = None,
                 on_drop: Callable[[str], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.client = AriClient(settings.url, settings.username, settings.password,
                                timeout=settings.request_timeout)
        self._loader = loader
        self._turn_away = turn_away
        self._on_state = on_state
        self._on_drop = on_drop
        self._on_error = on_error
        self.state = "connecting"
        """``connecting``, ``connected``, ``disconnected``, ``replaced`` or ``stopped``."""
        self.connects = 0
        self.bad_events = 0
        self.sessions: dict[str, AriSession] = {}
        """Live callers by channel id."""
        self._media: dict[str, AriSession] = {}
        self._early_media: set[str] = set()
        self._handler: CallHandler | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._stop = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._clock: MediaClock | None = None
        self.calls_total = 0

    @property
    def active(self) -> int:
        return len(self.sessions)

    def _set_state(self, state: str) -> None:
        self.state = state
        if self._on_state is not None:
            self._on_state(state)

    def _error(self, code: str) -> None:
        if self._on_error is not None:
            self._on_error(code)

    # Connection ---------------------------------------------------------------------
    async def serve(self, handler: CallHandler) -> None:
        """Keep the events websocket up until :meth:`drain`; calls live in this task group."""
        self._handler = handler
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await self._connection_loop()
        finally:
            self._tg = None
            if self._clock is not None:
                self._clock.close()
                self._clock = None
            await self.client.close()

    async def _connection_loop(self) -> None:
        delay = self.settings.reconnect_min
        while not self._stop.is_set():
            try:
                self._ws = await self.client.events(self.settings.app)
            except AriError as err:
                self._set_state("disconnected")
                _LOG.warning("ari-disconnected: %s; retrying in %.1f s", err.message, delay)
                await self._sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_max)
                continue
            self.connects += 1
            delay = self.settings.reconnect_min
            self._set_state("connected")
            _LOG.info("ari-connected: app %s on %s", self.settings.app, self.settings.url)
            assert self._tg is not None
            rebuild = self._tg.create_task(self._rebuild(), name="ari-rebuild")
            try:
                replaced = await self._read(self._ws)
            finally:
                rebuild.cancel()
            with contextlib.suppress(Exception):
                await self._ws.close()
            self._ws = None
            if self._stop.is_set():
                break
            if replaced:
                self._set_state("replaced")
                self._error("ari-app-replaced")
                _LOG.error("ari-app-replaced: another client took the Stasis application %r; "
                           "this server stops reconnecting so the two do not keep displacing "
                           "each other (calls in progress go on; restart it to take the app "
                           "back)", self.settings.app)
                await self._stop.wait()
                break
            self._set_state("disconnected")
            _LOG.warning("ari-disconnected: events websocket closed; reconnecting")
            await self._sleep(delay)
        self._set_state("stopped")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds * random.uniform(0.8, 1.0)):
                await self._stop.wait()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Handle events until the socket closes; True when the app was taken over."""
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                self._bad_event("binary frame")
                continue
            try:
                event = json.loads(message.data)
                if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                    raise ValueError("no type")
            except ValueError:
                self._bad_event("not a JSON event")
                continue
            if event["type"] == "ApplicationReplaced":
                return True
            try:
                self._on_event(event)
            except Exception:  # one odd event never ends the connection
                _LOG.exception("ari-event-failed: %s", event["type"])
        return False

    def _bad_event(self, why: str) -> None:
        self.bad_events += 1
        self._error("ari-bad-event")
        if self.bad_events <= 10 or self.bad_events % 1000 == 0:
            _LOG.warning("ari-bad-event: %s (%d so far); ignored", why, self.bad_events)

    # Events -----------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        channel = event.get("channel")
        if not isinstance(channel, dict) or not isinstance(channel.get("id"), str):
            return
        cid = channel["id"]
        if kind == "StasisStart":
            if cid in self._media:
                self._media[cid].media_up.set()
                self._media[cid].call._poke()
            elif str(channel.get("name", "")).startswith(MEDIA_PREFIXES):
                self._early_media.add(cid)  # its externalMedia reply may still be on its way
                if len(self._early_media) > 10000:
                    self._early_media.clear()
            elif cid not in self.sessions:
                self._start(channel, event.get("args"))
        elif kind == "ChannelDtmfReceived":
            session = self.sessions.get(cid)
            if session is not None:
                session.call.on_dtmf(event.get("digit"))
        elif kind in ("ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"):
            session = self.sessions.get(cid)
            if session is not None:
                session.call.caller_gone("caller hung up" if kind != "StasisEnd"
                                         else "channel left the application")
            elif cid in self._media and kind != "StasisEnd":
                owner = self._media[cid]
                _LOG.warning("ari-media-gone: the media channel of a call went away")
                owner.call.caller_gone("media channel gone")

    def _start(self, channel: dict[str, Any], args: object) -> None:
        tg = self._tg
        if tg is None or self._stop.is_set():
            return
        info = _call_info(channel, args if isinstance(args, list) else [])
        call = AriCall(info, self._loader, self.client, channel["id"])
        session = AriSession(call)
        self.sessions[call.channel_id] = session
        self.calls_total += 1
        tg.create_task(self._run(session), name=f"ari-{info.call_id[:8]}")

    # One call -----------------------------------------------------------------------
    async def _run(self, session: AriSession) -> None:
        call = session.call
        CALL_ID.set(call.info.call_id)
        try:
            async with asyncio.timeout(self.settings.max_call_seconds + 30):
                if self.active > self.settings.max_calls:
                    await self._cannot_serve(call, "ari-over-capacity")
                    return
                try:
                    await self._setup(session)
                except CallHangup:
                    return
                except (AriError, OSError, TimeoutError) as err:
                    code = err.code if isinstance(err, AriError) else "ari-media-failed"
                    _LOG.error("%s: cannot set up the call's audio: %s", code, err)
                    await self._cannot_serve(call, "ari-media-failed")
                    return
                self._send_audio(session)
                async with CallTasks(f"ari-{call.info.call_id[:8]}") as helpers:
                    helpers.start(self._recording_writer(call), "recording")
                    assert self._handler is not None
                    await self._handler(call)
        except TimeoutError:
            _LOG.error("ari-session-stuck: ended after %.0f s", self.settings.max_call_seconds)
        except Exception:  # the last net: one call's failure never reaches another
            _LOG.exception("ari-session-crashed")
        finally:
            await self._end(session)

    async def _cannot_serve(self, call: AriCall, code: str) -> None:
        self._error(code)
        if self._turn_away is not None:
            with contextlib.suppress(CallHangup, IvrError):
                await self._turn_away(call, code)

    async def _setup(self, session: AriSession) -> None:
        call, settings = session.call, self.settings
        await self.client.answer(call.channel_id)
        endpoint = RtpEndpoint(call.on_rtp, self._on_drop)
        session.endpoint = await open_endpoint(settings.media_host, settings.port_range, endpoint)
        host, port = endpoint.address
        media = await self.client.external_media(settings.app, f"{host}:{port}")
        media_id = str(media.get("id")) if isinstance(media, dict) else ""
        if not media_id:
            raise AriError("ari-bad-reply", "externalMedia answered without a channel id")
        session.media_channel = media_id
        self._media[media_id] = session
        if media_id in self._early_media:
            self._early_media.discard(media_id)
            session.media_up.set()
        endpoint.peer = await self._media_peer(media_id, media)
        # Bridging before the media channel is in the app answers 422: wait for it.
        if not await call.wait_for(session.media_up.is_set, settings.media_start_timeout):
            raise AriError("ari-media-timeout", "the media channel never entered the app")
        bridge = await self.client.create_bridge(f"{settings.app}-{call.info.call_id}")
        session.bridge = str(bridge.get("id")) if isinstance(bridge, dict) else None
        if not session.bridge:
            raise AriError("ari-bad-reply", "POST /bridges answered without a bridge id")
        await self.client.add_channels(session.bridge, [call.channel_id, media_id])

    async def _media_peer(self, media_id: str, media: dict[str, Any]) -> tuple[str, int]:
        """Where Asterisk takes our audio (and sends from): the channel's
        ``UNICASTRTP_LOCAL_ADDRESS`` and ``UNICASTRTP_LOCAL_PORT``."""
        found = media.get("channelvars")
        found = found if isinstance(found, dict) else {}
        address = found.get("UNICASTRTP_LOCAL_ADDRESS") or await self.client.variable(
            media_id, "UNICASTRTP_LOCAL_ADDRESS")
        port = found.get("UNICASTRTP_LOCAL_PORT") or await self.client.variable(
            media_id, "UNICASTRTP_LOCAL_PORT")
        try:
            number = int(str(port))
        except ValueError as err:
            raise AriError("ari-bad-reply", "the media channel has no RTP port") from err
        if not address or address in ("0.0.0.0", "::"):
            address = urlsplit(self.settings.url).hostname or "127.0.0.1"
        return str(address), number

    def _send_audio(self, session: AriSession) -> None:
        """Prompts (or silence) as one µ-law packet per 20 ms, sent by the media clock's
        thread from a duplicate of the call's UDP socket (see :mod:`.clock`)."""
        endpoint = session.endpoint
        assert endpoint is not None and endpoint.peer is not None
        if self._clock is None:
            self._clock = MediaClock(asyncio.get_running_loop())
        sender = RtpSender(ssrc=random.getrandbits(32), sequence=random.getrandbits(16))
        self._clock.add(session.call.channel_id, session.call.track, endpoint.dup_socket(),
                        endpoint.peer, sender)

    async def _recording_writer(self, call: AriCall) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await call.flush_recording()
            except IvrError as err:  # the recorder alerts itself; never fail the call
                _LOG.warning("%s: %s", err.code, err.message)

    async def _end(self, session: AriSession) -> None:
        """Let go of the call: media and bridge deleted, a caller still there continues."""
        call = session.call
        try:
            with contextlib.suppress(IvrError):
                await call.flush_recording()
            served = call.transferred is not None or call.outcome is not None
            was_gone = call.gone is not None
            call.caller_gone("hotline let go")
            if self._clock is not None:
                self._clock.remove(call.channel_id)
            call.track.stop()
            if session.endpoint is not None:
                session.endpoint.close()
            await self._release_media(session)
            if not was_gone:
                s = self.settings
                extension = s.continue_extension if served else s.default_extension
                try:
                    await self.client.continue_in_dialplan(
                        call.channel_id, s.continue_context, extension,
                        s.continue_priority if served else 1)
                except AriError as err:
                    if err.status != 404:
                        _LOG.error("%s: could not hand the caller back to the dialplan: %s",
                                   err.code, err.message)
        except Exception:
            _LOG.exception("ari-end-failed")
        finally:
            self.sessions.pop(call.channel_id, None)
            session.ended.set()

    async def _release_media(self, session: AriSession) -> None:
        if session.media_channel is not None:
            await self._forget(self.client.delete_channel, session.media_channel)
            self._media.pop(session.media_channel, None)
        if session.bridge is not None:
            await self._forget(self.client.delete_bridge, session.bridge)

    async def _forget(self, delete: Callable[[str], Awaitable[None]], ident: str) -> None:
        """Delete a channel or bridge; gone already is fine, anything else is logged."""
        try:
            await delete(ident)
        except AriError as err:
            if err.status != 404:
                self._error("ari-cleanup-failed")
                _LOG.error("ari-cleanup-failed: %s", err.message)

    # Rebuilding state after a (re)connect --------------------------------------------
    async def _rebuild(self) -> None:
        try:
            await self._reconcile()
        except AriError as err:
            _LOG.warning("%s: rebuilding state after connecting: %s", err.code, err.message)

    async def _reconcile(self) -> None:
        """Runs while events are read: a caller whose ``StasisStart`` is still in flight is
        no orphan, so strays are only acted on after :data:`ORPHAN_GRACE` seconds."""
        known = set(self.sessions)
        channels = [c for c in await self.client.channels() if isinstance(c, dict)]
        present = {str(c.get("id")) for c in channels}
        for cid in known - present:
            session = self.sessions.get(cid)
            if session is not None:
                session.call.caller_gone("channel vanished while ARI was disconnected")
        await asyncio.sleep(ORPHAN_GRACE)
        owned = set(self.sessions) | set(self._media)
        owned_names = tuple(f"UnicastRTP/{s.endpoint.address[0]}:{s.endpoint.address[1]}-"
                            for s in self.sessions.values() if s.endpoint is not None
                            and s.endpoint.transport is not None)
        s = self.settings
        for channel in channels:
            cid, name = str(channel.get("id")), str(channel.get("name", ""))
            if cid in owned or (owned_names and name.startswith(owned_names)):
                continue
            if not _in_app(channel, s.app):
                continue
            if name.startswith(MEDIA_PREFIXES):
                _LOG.warning("ari-orphan-media: deleting %s left by an earlier run", name[:40])
                await self._forget(self.client.delete_channel, cid)
            else:
                _LOG.warning("ari-orphan-caller: a caller left in the app goes to %s,%s,1",
                             s.continue_context, s.default_extension)
                with contextlib.suppress(AriError):
                    await self.client.continue_in_dialplan(cid, s.continue_context,
                                                           s.default_extension, 1)
        bridges = {x.bridge for x in self.sessions.values() if x.bridge}
        live_names = {f"{s.app}-{x.call.info.call_id}" for x in self.sessions.values()}
        for bridge in await self.client.bridges():
            if not isinstance(bridge, dict):
                continue
            bid, name = str(bridge.get("id")), str(bridge.get("name", ""))
            if name.startswith(f"{s.app}-") and bid not in bridges and name not in live_names:
                await self._forget(self.client.delete_bridge, bid)

    # Stopping -------------------------------------------------------------------------
    async def drain(self, timeout: float) -> int:
        """Take no new calls; wait up to ``timeout`` for calls in progress, then end them."""
        sessions = list(self.sessions.values())
        await wait_ended((s.ended for s in sessions), timeout)
        left = [s for s in sessions if not s.ended.is_set()]
        for session in left:
            session.call.caller_gone("server stopping")
        self._stop.set()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        return len(left)


def _in_app(channel: dict[str, Any], app: str) -> bool:
    dialplan = channel.get("dialplan")
    if not isinstance(dialplan, dict) or dialplan.get("app_name") != "Stasis":
        return False
    return str(dialplan.get("app_data") or "").split(",")[0] == app


def _call_info(channel: dict[str, Any], args: list[Any]) -> CallInfo:
    """``Stasis(hotline[,DIALED[,DIALPLAN_ID]])``: the caller's channel as Hotline sees it."""
    found = channel.get("caller")
    caller: dict[str, Any] = found if isinstance(found, dict) else {}
    number = re.sub(r"[^+0-9]", "", str(caller.get("number") or ""))[:32] or None
    name = str(caller.get("name") or "")[:80] or None
    dialed = re.sub(r"[^0-9]", "", str(args[0]))[:32] or None if args else None
    route = str(args[1]) if len(args) > 1 and _ROUTE.match(str(args[1])) else DEFAULT_ROUTE
    language = str(channel.get("language") or "")
    return CallInfo(call_id=uuid.uuid4().hex, transport="ari", route=route, caller=number,
                    caller_name=name, dialed=dialed,
                    language=language if re.match(r"^[a-z]{2,3}-[A-Z]{2}$", language) else None,
                    channel=str(channel.get("name", ""))[:120] or None,
                    extra={"uniqueid": str(channel["id"])[:64]})
