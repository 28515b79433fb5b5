"""The public side for callers: the softphone page and its signalling endpoint.

``GET /softphone`` serves a static page (no login, no build step). ``POST /api/webrtc/offer``
takes ``{"type": "offer", "sdp": "...", "language": "en-US"}`` as ``application/json`` and
answers ``{"type": "answer", "sdp": "...", "call_id": "...", "busy": false}``; errors are
``{"error": {"code": "webrtc-…", "message": "…"}}`` with 400 (bad offer), 413 (too large),
415 (not JSON), 429 (too many offers from one address) or 503 (busy, not ready).

The endpoint is public, so it has no session and no CSRF token. It is marked
:func:`~ivr.web.auth.csrf_exempt`: the middleware still refuses a cross-site ``Origin`` and
insists on ``application/json`` (which a cross-site page cannot send without a CORS
preflight we never grant). Abuse limits: the body size (16 KiB of SDP), offers per minute per
client address, and the gateway's caps on concurrent calls.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from ivr.errors import IvrError
from ivr.web.auth import csrf_exempt
from ivr.web.context import client_address

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 20 * 1024
STATUS = {"webrtc-busy": 503, "webrtc-not-ready": 503, "webrtc-sdp-too-large": 413,
          "webrtc-negotiation-timeout": 503}


class OfferTaker(Protocol):
    """The WebRTC gateway as the web side sees it."""

    async def offer(self, sdp: object, *, language: object = None, client: str = "") -> Any: ...


class RateLimit:
    """At most ``per_minute`` offers per client address (a sliding window, bounded memory)."""

    def __init__(self, per_minute: int, max_clients: int = 10000) -> None:
        self.per_minute = per_minute
        self._seen: OrderedDict[str, list[float]] = OrderedDict()
        self._max = max_clients

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        recent = [t for t in self._seen.pop(client, []) if now - t < 60.0]
        allowed = len(recent) < self.per_minute
        if allowed:
            recent.append(now)
        self._seen[client] = recent
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return allowed


class Softphone:
    """What the routes need: the gateway and the per-address limit."""

    def __init__(self, gateway: OfferTaker, offers_per_minute: int) -> None:
        self.gateway = gateway
        self.limit = RateLimit(offers_per_minute)


SOFTPHONE_KEY = web.AppKey("softphone", Softphone)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def softphone_page(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(STATIC / "softphone.html")
    # The site-wide policy turns the microphone off; this page needs it (own origin only).
    response.headers["Permissions-Policy"] = "microphone=(self), camera=(), geolocation=()"
    return response


@csrf_exempt
async def post_offer(request: web.Request) -> web.Response:
    softphone = request.app.get(SOFTPHONE_KEY)
    if softphone is None:
        return _error(503, "webrtc-disabled", "the softphone is not enabled on this server")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(413, "webrtc-sdp-too-large", f"offers are at most {MAX_BODY_BYTES} bytes")
    client = client_address(request)
    if not softphone.limit.allow(client):
        return _error(429, "webrtc-rate-limited", "too many calls from this address; wait a "
                      "minute")
    try:
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, "webrtc-sdp-too-large", f"offers are at most {MAX_BODY_BYTES} "
                          "bytes")
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error(400, "webrtc-bad-request", "the body must be a JSON object")
    if not isinstance(body, dict) or body.get("type") != "offer":
        return _error(400, "webrtc-bad-request", 'expected {"type": "offer", "sdp": "..."}')
    try:
        answer = await softphone.gateway.offer(body.get("sdp"), language=body.get("language"),
                                               client=client)
    except IvrError as err:
        return _error(STATUS.get(err.code, 400), err.code, err.message)
    return web.json_response({"type": "answer", "sdp": answer.sdp, "call_id": answer.call_id,
                              "busy": answer.busy})


def add_routes(app: web.Application, softphone: Softphone | None) -> None:
    """Register the page and the endpoint (``softphone`` None: the endpoint answers 503)."""
    if softphone is not None:
        app[SOFTPHONE_KEY] = softphone
    app.router.add_get("/softphone", softphone_page)
    app.router.add_post("/api/webrtc/offer", post_offer)
