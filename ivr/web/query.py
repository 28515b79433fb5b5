"""What every route does with what a client typed: refuse nonsense with a 400 that says why.

Browsers get the error page, API clients (``/api/``, the replay endpoint) JSON
``{"error": {"code": "web-bad-query", "message": ...}}``. Nothing a client sends in a URL
or form should ever surface as a 500.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable

from aiohttp import web

from ivr.web.auth import Handler, wants_json
from ivr.web.context import context

BAD_QUERY = "web-bad-query"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _speaks_json(request: web.Request) -> bool:
    return wants_json(request) or request.path.startswith("/recordings/")


def bad_request(request: web.Request, message: str, *, page: str | None = None,
                **values: object) -> web.HTTPBadRequest:
    """A 400 for ``request``: JSON for API clients, else ``page`` (default: the error page)
    rendered with ``values``."""
    if _speaks_json(request):
        return web.HTTPBadRequest(
            text=json.dumps({"error": {"code": BAD_QUERY, "message": message}}),
            content_type="application/json")
    pages = context(request).pages
    html = (pages.render(page, request, **values) if page else
            pages.render("error.html", request, title="Bad request", message=message))
    return web.HTTPBadRequest(text=html, content_type="text/html")


def _has_controls(values: Iterable[str]) -> bool:
    """NUL and other control characters: no field of ours takes them (PostgreSQL cannot
    even store NUL), so they mean a broken or hostile client."""
    return any(not text.isprintable() and any(
        unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\r\n" for ch in text)
        for text in values)


@web.middleware
async def reject_control_characters(request: web.Request,
                                    handler: Handler) -> web.StreamResponse:
    """400 for any path segment, query parameter or form field holding a control
    character or a lone surrogate, before a handler passes it to the database."""
    fields = [*request.match_info.values(), *request.query.keys(), *request.query.values()]
    if request.method == "POST" and request.content_type in _FORMS:
        form = await request.post()  # aiohttp keeps the parsed form for the handler
        fields += [*form.keys(), *(v for v in form.values() if isinstance(v, str))]
    if _has_controls(fields):
        raise bad_request(request, "The address or form holds control characters; "
                          "type the values again.")
    return await handler(request)


def int_param(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    """Query parameter ``name`` as a whole number clamped to ``low..high``; 400 when it is
    not one."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    digits = raw[1:] if raw[0] in "+-" else raw
    if not (digits.isascii() and digits.isdigit()):
        raise bad_request(request, f"{name} must be a whole number from {low} to {high}.")
    if len(digits) > 9:  # far beyond any limit: clamp without building a huge int
        return low if raw[0] == "-" else high
    return max(low, min(high, int(raw)))
