"""Who is asking: the session cookie, role guards, CSRF and security headers."""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web

from ivr.web.context import context
from ivr.web.sessions import SESSION_KEY, Session

SESSION_COOKIE = "ivr_session"
LOGIN_CSRF_COOKIE = "ivr_login_csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form
    # posts, and the same-origin check below needs the real origin.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def current_session(request: web.Request) -> Session | None:
    session = request.get(SESSION_KEY)
    return session if isinstance(session, Session) else None


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def cookie_secure(request: web.Request) -> bool:
    configured = context(request).settings.cookie_secure
    return request.secure if configured is None else configured


async def security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: every answer (errors and streams included) gets CSP,
    framing and sniffing protection; nothing but static files may be cached."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def load_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the session named by the cookie (if live) to the request."""
    session = await context(request).sessions.load(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        request[SESSION_KEY] = session
    return await handler(request)


@web.middleware
async def csrf_protect(request: web.Request, handler: Handler) -> web.StreamResponse:
    """State-changing requests need a same-origin ``Origin`` (when sent) and the session's
    CSRF token as form field ``csrf`` or header ``X-CSRF-Token``. The login form, which has
    no session yet, uses a double-submit cookie instead."""
    if request.method in _SAFE_METHODS:
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin is not None and not _same_origin(request, origin):
        raise _forbidden(request, "cross-site request refused")
    if getattr(request.match_info.route.handler, "csrf_exempt", False):
        # A public JSON API (no session to hold a token): JSON cannot be posted cross-site
        # without a CORS preflight, which we never grant.
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text='{"error": "send application/json"}',
                                               content_type="application/json")
        return await handler(request)
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type in ("application/x-www-form-urlencoded",
                                                  "multipart/form-data"):
        field = (await request.post()).get("csrf")
        token = field if isinstance(field, str) else None
    session = current_session(request)
    # Forms without a session (login, the public survey page) use a double-submit cookie.
    cookie = LOGIN_CSRF_COOKIE if request.path == "/login" else getattr(
        request.match_info.route.handler, "csrf_cookie", None)
    if cookie is not None:
        expected = request.cookies.get(cookie)
        ok = bool(expected) and bool(token) and secrets.compare_digest(expected or "",
                                                                        token or "")
    else:
        ok = session is not None and session.csrf_ok(token)
    if not ok:
        raise _forbidden(request, "missing or wrong CSRF token: reload the page and try again")
    return await handler(request)


def csrf_exempt(handler: Handler) -> Handler:
    """Mark a public JSON endpoint: no CSRF token, but same-origin and JSON only."""
    handler.csrf_exempt = True  # type: ignore[attr-defined]
    return handler


def _same_origin(request: web.Request, origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == request.scheme and parts.netloc == request.host


def _forbidden(request: web.Request, message: str) -> web.HTTPException:
    if wants_json(request):
        return web.HTTPForbidden(text=json.dumps({"error": message}),
                                 content_type="application/json")
    return web.HTTPForbidden(text=context(request).pages.render(
        "error.html", request, title="Forbidden", message=message), content_type="text/html")


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Only logged-in users with one of ``roles``: others get a login redirect (pages),
    401 (API) or 403 (wrong role)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = current_session(request)
            if session is None:
                if wants_json(request) or request.method not in _SAFE_METHODS:
                    raise web.HTTPUnauthorized(text='{"error": "log in first"}',
                                               content_type="application/json")
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
            if session.user.role not in roles:
                raise _forbidden(request, f"this needs the {' or '.join(roles)} role; you are "
                                 f"signed in as {session.user.name} ({session.user.role})")
            return await handler(request)

        return guarded

    return wrap
