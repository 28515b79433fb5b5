"""aiohttp application: /healthz, /readyz and /metrics (open), the login, the supervisor,
admin and auditor pages, the replay endpoint and a small read-only REST API (login
required)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.audit import AuditLog
from ivr.metrics import Metrics
from ivr.recording.api import RecordingLibrary
from ivr.store.repo import CallQueries, DialplanRepository
from ivr.store.rows_json import call_json, event_json
from ivr.web import admin, editor, login, passwords, player, review, softphone, supervisor
from ivr.web.auth import csrf_protect, load_session, require_role, security_headers
from ivr.web.call_search import OUTCOMES, CallSearch
from ivr.web.console import Console
from ivr.web.console import add_routes as add_console_routes
from ivr.web.context import CONTEXT, WebContext
from ivr.web.query import bad_request, int_param, reject_control_characters
from ivr.web.render import Pages
from ivr.web.sessions import SessionStore
from ivr.web.settings import WebSettings
from ivr.web.timeline import describe
from ivr.web.users import ROLES, UserRepository

STATIC = Path(__file__).with_name("static")


def make_context(engine: AsyncEngine, recordings: RecordingLibrary | None,
                 settings: WebSettings) -> WebContext:
    return WebContext(
        settings=settings,
        users=UserRepository(engine, max_failures=settings.max_failed_logins,
                             lockout=timedelta(minutes=settings.lockout_minutes)),
        sessions=SessionStore(engine, idle=timedelta(minutes=settings.session_idle_minutes),
                              max_age=timedelta(hours=settings.session_max_hours)),
        audit=AuditLog(engine), calls=CallQueries(engine), search=CallSearch(engine),
        recordings=recordings, pages=Pages())


def build_web_app(
    metrics: Metrics, calls: CallQueries, dialplans: DialplanRepository,
    is_live: Callable[[], bool], status: Callable[[], dict[str, Any]], *,
    engine: AsyncEngine, recordings: RecordingLibrary | None = None,
    settings: WebSettings | None = None, phone: softphone.Softphone | None = None,
    not_ready: Callable[[], list[str]] | None = None, desk: editor.Desk | None = None,
    console: Console | None = None,
) -> web.Application:
    """The HTTP side of ``ivr serve``. ``recordings`` is None until a store is configured
    (pages then say there is no recording). ``phone`` serves WebRTC callers: ``/softphone``
    and ``POST /api/webrtc/offer`` are public (see :mod:`ivr.web.softphone`).

    ``is_live`` says start-up has finished: ``/healthz`` (liveness) answers 200 from then on.
    ``not_ready`` gives the reasons the server should get no new calls (draining, store
    down): ``/readyz`` answers 200 only when there are none. ``desk`` does the dialplan
    editor's work (:mod:`ivr.web.editor`; None: its pages answer 503). ``console`` holds
    the live board and the hotline's timezone (live calls, analytics, survey pages)."""
    app = web.Application(middlewares=[load_session, reject_control_characters,
                                        csrf_protect], client_max_size=64 * 1024)
    app[CONTEXT] = make_context(engine, recordings, settings or WebSettings())
    app.on_response_prepare.append(security_headers)
    app.on_startup.append(passwords.prepare_timing)

    def reasons() -> list[str]:
        if not_ready is not None:
            return not_ready()
        return [] if is_live() else ["starting"]

    async def healthz(_: web.Request) -> web.Response:
        live, why = is_live(), reasons()
        body = {"live": live, "ready": not why, "not_ready": why, **status()}
        return web.json_response(body, status=200 if live else 503)

    async def readyz(_: web.Request) -> web.Response:
        why = reasons()
        return web.json_response({"ready": not why, "not_ready": why},
                                 status=503 if why else 200)

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    @require_role("supervisor")
    async def list_calls(request: web.Request) -> web.Response:
        limit = int_param(request, "limit", 50, low=1, high=500)
        outcome = request.query.get("outcome", "").strip() or None
        if outcome is not None and outcome not in OUTCOMES:
            raise bad_request(request, f"outcome must be one of {', '.join(OUTCOMES)}")
        rows = await calls.recent(limit=limit, outcome=outcome)
        return web.json_response({"calls": [call_json(r) for r in rows]})

    @require_role("supervisor")
    async def show_call(request: web.Request) -> web.Response:
        row = await calls.get(request.match_info["call_id"])
        if row is None:
            raise web.HTTPNotFound(text="no such call")
        events = await calls.events(row.id)
        return web.json_response({"call": call_json(row), "events": [
            {**event_json(e), "text": describe(e.kind, e.node, dict(e.data or {}))[1]}
            for e in events]})

    @require_role(*ROLES)
    async def list_dialplans(_: web.Request) -> web.Response:
        live = await dialplans.live()
        return web.json_response({"dialplans": [
            {"id": v.dialplan_id, "version": v.version, "published_at": v.published_at.isoformat(),
             "note": v.note} for v in live]})

    r = app.router
    r.add_get("/healthz", healthz)
    r.add_get("/readyz", readyz)
    r.add_get("/metrics", metrics_page)
    r.add_get("/", login.home)
    r.add_get("/login", login.login_page)
    r.add_post("/login", login.login_submit)
    r.add_post("/logout", login.logout)
    r.add_get("/calls", supervisor.calls_page)
    r.add_get("/calls/{call_id}", supervisor.call_page)
    # No HEAD: every request for the audio is a decryption, audited.
    r.add_get("/recordings/{recording_id}/audio", player.play_recording, allow_head=False)
    r.add_get("/admin/users", admin.users_page)
    r.add_post("/admin/users", admin.users_action)
    r.add_get("/audit", admin.audit_page)
    r.add_get("/api/calls", list_calls)
    r.add_get("/api/calls/{call_id}", show_call)
    r.add_get("/api/dialplans", list_dialplans)
    softphone.add_routes(app, phone)
    editor.add_routes(app, dialplans, desk)
    review.add_routes(app, engine)
    add_console_routes(app, console or Console(engine))
    r.add_static("/static/", STATIC, append_version=False)
    return app
