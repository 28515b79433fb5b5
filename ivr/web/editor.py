"""The dialplan editor for admins: the YAML with live checks, a diff against the live
version, publish, history, rollback and a simulator.

The page posts JSON to ``/api/dialplans/{id}/check|simulate|publish`` (CSRF token in the
``X-CSRF-Token`` header); rollback is a form. The dialplan work itself (parsing off the event
loop, the size limits, publishing, the simulation sandbox) is a :class:`Desk` that
``ivr.app`` builds; without one these pages answer 503. Malformed text is never published:
publish checks again server-side, and every publish and rollback is an audit row.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from ivr.audit import AuditEntry
from ivr.errors import IvrError
from ivr.flow.loader import Problem
from ivr.flow.simulate import CallerInput, Simulation, parse_inputs
from ivr.store.repo import DialplanRepository, DialplanVersion
from ivr.web.auth import current_session, require_role
from ivr.web.context import client_address, context

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DIFF_MAX_LINES = 20_000
DIFFS = web.AppKey("ivr_dialplan_diffs", asyncio.Semaphore)
"""One diff at a time per server (difflib is CPU work, done in a thread)."""
WORK = web.AppKey("ivr_dialplan_work", asyncio.Semaphore)
"""Checks, simulations and publishes waiting at once per server; more are turned away (503)
rather than queued without bound behind the one parser thread."""
MAX_WAITING = 4
DESK = web.AppKey("ivr_dialplan_desk", object)
REPO = web.AppKey("ivr_dialplan_repo", DialplanRepository)
LANGUAGES = ("en-US", "zh-CN")


@dataclass(frozen=True, slots=True)
class Checked:
    """Editor text checked: its problems (none: it can be published), id and languages."""

    problems: list[Problem]
    dialplan_id: str | None
    languages: list[str]


class Desk(Protocol):
    """Dialplan work the editor needs (``ivr.dialplan_desk.DialplanDesk``)."""

    @property
    def max_bytes(self) -> int: ...

    async def check(self, dialplan_id: str, text: str) -> Checked: ...

    async def publish(self, dialplan_id: str, text: str, note: str) -> DialplanVersion: ...

    async def rollback(self, dialplan_id: str, to: int | None) -> DialplanVersion: ...

    async def simulate(self, dialplan_id: str, text: str, inputs: list[CallerInput],
                       language: str, caller: str) -> tuple[Checked, Simulation | None]: ...


def add_routes(app: web.Application, repo: DialplanRepository, desk: Desk | None) -> None:
    app[REPO] = repo
    app[DIFFS] = asyncio.Semaphore(1)
    app[WORK] = asyncio.Semaphore(MAX_WAITING)
    if desk is not None:
        app[DESK] = desk
    r = app.router
    r.add_get("/admin/dialplans", dialplans_page)
    r.add_get("/admin/dialplans/{dialplan_id}", editor_page)
    r.add_post("/admin/dialplans/{dialplan_id}/rollback", rollback_action)
    r.add_post("/api/dialplans/{dialplan_id}/check", check_api)
    r.add_post("/api/dialplans/{dialplan_id}/simulate", simulate_api)
    r.add_post("/api/dialplans/{dialplan_id}/publish", publish_api)


def _desk(request: web.Request) -> Desk:
    desk = request.app.get(DESK)
    if desk is None:
        raise web.HTTPServiceUnavailable(text="the dialplan editor is not available on this "
                                         "server")
    return desk  # type: ignore[return-value]


def _busy(request: web.Request) -> asyncio.Semaphore:
    """The work slot for one check, simulation or publish; 503 when all are taken."""
    slots = request.app[WORK]
    if slots.locked():
        raise web.HTTPServiceUnavailable(
            text=json.dumps({"error": {"code": "web-busy", "message": "the server is busy "
                                       "checking other dialplans; try again in a moment"}}),
            content_type="application/json", headers={"Retry-After": "1"})
    return slots


def _dialplan_id(request: web.Request) -> str:
    value = request.match_info["dialplan_id"]
    if not _ID.fullmatch(value):
        raise web.HTTPNotFound(text="no such dialplan")
    return value


def _actor(request: web.Request) -> str:
    session = current_session(request)
    assert session is not None  # require_role ran first
    return f"web:{session.user.name}"


def _json_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}, **extra},
                             status=status)


async def _body(request: web.Request, desk: Desk) -> dict[str, Any]:
    """The JSON body, read up to what a dialplan of ``dialplans.max_bytes`` needs (the app's
    64 KiB request limit is for forms)."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text='{"error": "send application/json"}',
                                           content_type="application/json")
    limit = desk.max_bytes * 2 + 64 * 1024  # JSON escapes, the note, the caller's inputs
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise web.HTTPBadRequest(text=json.dumps({"error": {"code": "web-bad-query",
                                 "message": f"the body is not JSON: {err}"}}),
                                 content_type="application/json") from err
    if not isinstance(body, dict) or not isinstance(body.get("text", ""), str):
        raise web.HTTPBadRequest(text='{"error": {"code": "web-bad-query", "message": '
                                 '"send {\\"text\\": \\"...\\"}"}}', content_type="application/json")
    return body


def _problems(checked: Checked) -> list[dict[str, Any]]:
    return [{"line": p.line, "message": p.message, "text": str(p)} for p in checked.problems]


async def _diff(request: web.Request, dialplan_id: str, text: str) -> dict[str, Any]:
    """Unified diff of the live version against ``text`` (in a thread, one at a time)."""
    history = await request.app[REPO].history(dialplan_id)
    live = history[0] if history else None
    old = live.source.splitlines() if live else []
    new = text.splitlines()
    if len(old) + len(new) > _DIFF_MAX_LINES:
        return {"live_version": live.version if live else None, "diff": None,
                "changed": live is None or live.source != text,
                "note": "too long to compare in the browser"}

    def compute() -> list[str]:
        return list(difflib.unified_diff(
            old, new, f"live v{live.version}" if live else "nothing published",
            "editor", lineterm="", n=2))

    async with request.app[DIFFS]:
        lines = await asyncio.to_thread(compute)
    return {"live_version": live.version if live else None, "diff": "\n".join(lines),
            "changed": bool(lines)}


@require_role("admin")
async def dialplans_page(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    live = sorted(await request.app[REPO].live(), key=lambda v: v.dialplan_id)
    return ctx.pages.response("dialplans.html", request, live=live)


@require_role("admin")
async def editor_page(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    dialplan_id = _dialplan_id(request)
    history = await request.app[REPO].history(dialplan_id)
    if not history:
        raise web.HTTPNotFound(text=ctx.pages.render(
            "error.html", request, title="No such dialplan",
            message=f"nothing named '{dialplan_id}' has been published"),
            content_type="text/html")
    shown = history[0]
    raw = request.query.get("version", "").strip()
    if raw:
        if not raw.isdigit() or (found := next((v for v in history if v.version == int(raw)),
                                               None)) is None:
            raise web.HTTPNotFound(text=f"{dialplan_id} has no version {raw[:12]}")
        shown = found
    notice = request.query.get("notice", "")[:32]
    published = request.query.get("published", "")
    return ctx.pages.response("editor.html", request, dialplan_id=dialplan_id,
                              live=history[0], shown=shown, history=history[:50],
                              languages=LANGUAGES, notice=notice,
                              published=int(published) if published.isdigit()
                              and len(published) < 9 else None,
                              editor_ready=request.app.get(DESK) is not None)


@require_role("admin")
async def check_api(request: web.Request) -> web.StreamResponse:
    desk = _desk(request)
    dialplan_id = _dialplan_id(request)
    body = await _body(request, desk)
    text = body.get("text", "")
    async with _busy(request):
        checked = await desk.check(dialplan_id, text)
        diff = await _diff(request, dialplan_id, text)
    return web.json_response({"ok": not checked.problems, "problems": _problems(checked),
                              "languages": checked.languages, **diff})


@require_role("admin")
async def simulate_api(request: web.Request) -> web.StreamResponse:
    desk = _desk(request)
    dialplan_id = _dialplan_id(request)
    body = await _body(request, desk)
    language = str(body.get("language") or "en-US")[:16]
    caller = str(body.get("caller") or "+15551234567")[:32]
    try:
        inputs = parse_inputs(str(body.get("inputs") or ""))
    except ValueError as err:
        return _json_error(400, "web-bad-query", str(err))
    async with _busy(request):
        checked, result = await desk.simulate(dialplan_id, body.get("text", ""), inputs,
                                              language, caller)
    if result is None:
        return _json_error(422, "dialplan-invalid", "fix the problems before simulating",
                           problems=_problems(checked))
    return web.json_response({"ok": True, "simulation": result.as_json()})


async def _audit(request: web.Request, action: str, dialplan_id: str, outcome: str,
                 reason: str | None = None, **details: Any) -> None:
    await context(request).audit.append(AuditEntry(
        actor=_actor(request), action=action, subject=dialplan_id[:128],
        channel=client_address(request), outcome=outcome,
        reason=reason[:500] if reason else None, details=details))


@require_role("admin")
async def publish_api(request: web.Request) -> web.StreamResponse:
    desk = _desk(request)
    dialplan_id = _dialplan_id(request)
    body = await _body(request, desk)
    note = str(body.get("note") or "").strip()[:200]
    actor = _actor(request)
    before = await request.app[REPO].history(dialplan_id)
    try:
        async with _busy(request):
            version = await desk.publish(dialplan_id, body.get("text", ""),
                                         f"{note or 'published in the editor'} ({actor})")
    except IvrError as err:
        async with request.app[WORK]:
            checked = await desk.check(dialplan_id, body.get("text", ""))
        await _audit(request, "dialplan.publish", dialplan_id, "refused", err.code,
                     problems=len(checked.problems))
        return _json_error(422, err.code, "not published: fix the problems first",
                           problems=_problems(checked))
    unchanged = bool(before) and before[0].version == version.version
    await _audit(request, "dialplan.publish", dialplan_id, "unchanged" if unchanged else "ok",
                 note or None, version=version.version, sha256=version.sha256,
                 previous=before[0].version if before else None)
    return web.json_response({"ok": True, "version": version.version, "unchanged": unchanged,
                              "dialplan_id": version.dialplan_id})


@require_role("admin")
async def rollback_action(request: web.Request) -> web.StreamResponse:
    desk = _desk(request)
    dialplan_id = _dialplan_id(request)
    form = await request.post()
    raw = str(form.get("to", "")).strip()
    to = int(raw) if raw.isdigit() and len(raw) < 9 else None
    if raw and to is None:
        raise web.HTTPBadRequest(text="to must be a version number")
    before = await request.app[REPO].history(dialplan_id)
    try:
        version = await desk.rollback(dialplan_id, to)
    except IvrError as err:
        await _audit(request, "dialplan.rollback", dialplan_id, "refused", err.code, to=to)
        return context(request).pages.response(
            "error.html", request, status=400, title="Rollback refused", message=err.message)
    await _audit(request, "dialplan.rollback", dialplan_id, "ok", None, to=to,
                 version=version.version, previous=before[0].version if before else None)
    raise web.HTTPSeeOther(f"/admin/dialplans/{dialplan_id}?notice=rolled-back")
