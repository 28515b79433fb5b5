"""Log in and out; both are audited as ``web:<user>`` from the client's address."""

from __future__ import annotations

import logging
import secrets

from aiohttp import web

from ivr.audit import AuditEntry
from ivr.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_secure,
    current_session,
    require_role,
)
from ivr.web.context import client_address, context
from ivr.web.users import ROLES, LoginResult

_LOG = logging.getLogger(__name__)
HOME = {"supervisor": "/calls", "admin": "/admin/users", "auditor": "/audit",
        "reviewer": "/review"}
"""Where each role lands after logging in."""
UNKNOWN_ACTOR = "web:(unknown)"
"""Audit actor for a name that matches no user (the typed name is not recorded: people
sometimes type their password there)."""


def _safe_next(value: str | None, role: str) -> str:
    """Only local paths: never redirect to another site after login."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return HOME.get(role, "/")


def _message(result: LoginResult) -> str:
    if result.outcome == "locked":
        until = result.locked_until
        when = f" until {until:%H:%M} UTC" if until else ""
        return (f"Too many failed attempts: this account is locked{when}. "
                "Ask an administrator if you need it sooner.")
    return "Wrong user name or password."


async def login_form(request: web.Request, *, error: str | None = None,
                     name: str = "", status: int = 200) -> web.Response:
    """The login page, with a fresh double-submit CSRF token."""
    token = secrets.token_urlsafe(32)
    response = context(request).pages.response(
        "login.html", request, status=status, login_csrf=token, error=error, name=name,
        next=request.query.get("next", ""))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                        secure=cookie_secure(request), path="/login")
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is not None:
        raise web.HTTPSeeOther(HOME.get(session.user.role, "/"))
    return await login_form(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    form = await request.post()
    name = str(form.get("name", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    client = client_address(request)
    result = await ctx.users.authenticate(name, password)
    actor = f"web:{result.name}" if result.name else UNKNOWN_ACTOR
    details: dict[str, object] = {}
    if result.locked_until:
        details["locked_until"] = result.locked_until.isoformat()
    await ctx.audit.append(AuditEntry(actor=actor, action="web.login", channel=client,
                                      outcome=result.outcome, details=details))
    if not result.ok or result.user is None:
        _LOG.info("web login refused (%s) from %s", result.outcome, client)
        return await login_form(request, error=_message(result), name=name, status=401)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await ctx.sessions.end(old)
    cookie_value, _ = await ctx.sessions.create(result.user, client)
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", "")), result.user.role))
    # A browser-session cookie: the server-side row decides when the session really ends.
    response.set_cookie(SESSION_COOKIE, cookie_value, httponly=True, samesite="Strict",
                        secure=cookie_secure(request), path="/")
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@require_role(*ROLES)
async def logout(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    session = current_session(request)
    cookie_value = request.cookies.get(SESSION_COOKIE)
    if cookie_value:
        await ctx.sessions.end(cookie_value)
    if session is not None:
        await ctx.audit.append(AuditEntry(actor=f"web:{session.user.name}", action="web.logout",
                                          channel=client_address(request), outcome="ok"))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    raise web.HTTPSeeOther(HOME.get(session.user.role, "/login") if session else "/login")
