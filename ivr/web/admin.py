"""Admin and auditor pages: manage web users; read the audit trail."""

from __future__ import annotations

from aiohttp import web

from ivr.audit import AuditEntry
from ivr.web.auth import current_session, require_role
from ivr.web.context import client_address, context
from ivr.web.users import ROLES, WebError


@require_role("admin")
async def users_page(request: web.Request) -> web.StreamResponse:
    return await _users(request)


async def _users(request: web.Request, *, error: str | None = None,
                 notice: str | None = None, status: int = 200) -> web.StreamResponse:
    ctx = context(request)
    return ctx.pages.response("users.html", request, status=status, users=await ctx.users.list(),
                              roles=ROLES, error=error, notice=notice)


@require_role("admin")
async def users_action(request: web.Request) -> web.StreamResponse:
    """One form post: add a user, unlock, disable or enable one."""
    ctx = context(request)
    session = current_session(request)
    assert session is not None
    form = await request.post()
    action = str(form.get("action", ""))
    name = str(form.get("name", "")).strip().lower()
    try:
        if action == "add":
            await ctx.users.add(name, str(form.get("role", "")), str(form.get("password", "")))
            notice = f"Added {name}."
        elif action == "unlock":
            await ctx.users.unlock(name)
            notice = f"Unlocked {name}."
        elif action in ("disable", "enable"):
            if name == session.user.name:
                raise WebError("web-self-disable", "you cannot disable your own account")
            user = await ctx.users.set_disabled(name, action == "disable")
            if action == "disable":
                await ctx.sessions.end_all(user.id)
            notice = f"{action.capitalize()}d {name}."
        else:
            raise web.HTTPBadRequest(text="unknown action")
    except WebError as err:
        return await _users(request, error=err.message, status=400)
    await ctx.audit.append(AuditEntry(actor=f"web:{session.user.name}", action=f"user.{action}",
                                      subject=name[:128], channel=client_address(request),
                                      outcome="ok"))
    return await _users(request, notice=notice)


@require_role("auditor")
async def audit_page(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    action = request.query.get("action", "").strip()[:64] or None
    entries: list[AuditEntry] = await ctx.audit.list(limit=200, action=action)
    return ctx.pages.response("audit.html", request, entries=entries, action=action or "")
