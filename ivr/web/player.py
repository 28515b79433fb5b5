"""The replay endpoint: decrypted audio streamed to a supervisor's ``<audio>`` element.

Every request that reaches the library is audited there (actor ``web:<user>``, channel the
client address, the reason typed on the page); refusals before that are audited here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator

from aiohttp import web

from ivr.audit import AuditEntry
from ivr.recording.api import RecordingError
from ivr.web.auth import current_session
from ivr.web.context import WebContext, client_address, context

_LOG = logging.getLogger(__name__)
REPLAY_ROLE = "supervisor"
# RecordingError codes as HTTP statuses: state problems 409, damaged or unreadable 422.
_STATUS = {"rec-not-found": 404, "rec-incomplete": 409, "rec-no-key": 409,
           "rec-key-retired": 409, "rec-auth-failed": 422, "rec-bad-header": 422,
           "rec-future-version": 422}


def _error(status: int, code: str, message: str) -> web.HTTPException:
    exc = web.HTTPException(text=json.dumps({"error": {"code": code, "message": message}}),
                            content_type="application/json")
    exc.set_status(status)
    return exc


async def _refuse(ctx: WebContext, request: web.Request, actor: str, recording_id: str,
                  outcome: str, status: int, message: str) -> web.HTTPException:
    await ctx.audit.append(AuditEntry(actor=actor, action="recording.replay", outcome=outcome,
                                      subject=recording_id[:128], channel=client_address(request),
                                      reason=message[:512]))
    return _error(status, f"web-replay-{outcome}", message)


async def play_recording(request: web.Request) -> web.StreamResponse:
    """``GET /recordings/{id}/audio?t=CSRF&reason=...``: a WAV stream, chunked."""
    ctx = context(request)
    recording_id = request.match_info["recording_id"]
    session = current_session(request)
    if session is None:
        raise _error(401, "web-login-required", "log in first")
    actor = f"web:{session.user.name}"
    if session.user.role != REPLAY_ROLE:
        raise await _refuse(ctx, request, actor, recording_id, "denied", 403,
                            f"replay needs the {REPLAY_ROLE} role")
    if not session.csrf_ok(request.query.get("t")):
        raise await _refuse(ctx, request, actor, recording_id, "bad-csrf", 403,
                            "missing or wrong page token: reload the call page")
    library = ctx.recordings
    if library is None:
        raise _error(503, "web-no-recordings", "recording replay is not set up on this server")
    reason = " ".join(request.query.get("reason", "").split())[:200]
    stream = library.open_wav(recording_id, actor=actor, channel=client_address(request),
                              reason=reason or ctx.settings.default_replay_reason,
                              allow_incomplete=request.query.get("allow_incomplete") == "1")
    try:
        return await _stream(request, recording_id, stream)
    finally:
        # Stop decrypting when the supervisor goes away mid-stream.
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()


async def _stream(request: web.Request, recording_id: str,
                  stream: AsyncIterator[bytes]) -> web.StreamResponse:
    try:
        first = await anext(stream, b"")
    except RecordingError as err:
        _LOG.info("replay of %s refused: %s", recording_id, err.code)
        raise _error(_STATUS.get(err.code, 500), err.code, err.message) from None
    response = web.StreamResponse(headers={
        "Content-Type": "audio/wav", "Cache-Control": "no-store, private",
        "Content-Disposition": "inline"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        await response.write(first)
        async for chunk in stream:
            await response.write(chunk)
    except RecordingError as err:
        # Headers are gone already: cut the connection so the body is visibly truncated
        # (no final chunk) rather than ending like a whole recording.
        _LOG.warning("replay of %s stopped: %s", recording_id, err.code)
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response
