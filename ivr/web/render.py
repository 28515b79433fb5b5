"""HTML pages from Jinja2 templates with autoescaping on (no string is ever trusted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ivr.web.sessions import SESSION_KEY, Session

NAV = {
    "supervisor": [("/calls", "Calls"), ("/live", "Live · 实时"), ("/analytics", "Analytics · 分析")],
    "admin": [("/admin/users", "Users"), ("/admin/dialplans", "Dialplans · 拨号方案"),
              ("/analytics", "Analytics · 分析")],
    "auditor": [("/audit", "Audit log")],
    "reviewer": [("/review", "Phone changes · 手机号审核")],
}
"""What each role can open, in the header."""
OUTCOME_LABELS = {"self_served": "Self-served", "queued": "Queued", "abandoned": "Abandoned",
                  "failed": "Failed", None: "In progress"}


def utc_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return value.strftime(fmt) if value else "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def elapsed(start: datetime | None, end: datetime | None) -> str:
    """``m:ss`` between two times (SQLite gives naive UTC, PostgreSQL aware)."""
    if start is None or end is None:
        return "—"
    naive = start.replace(tzinfo=None), end.replace(tzinfo=None)
    return duration(max(0.0, (naive[1] - naive[0]).total_seconds()))


def outcome_label(outcome: str | None) -> str:
    return OUTCOME_LABELS.get(outcome, outcome or "In progress")


class Pages:
    """Renders ``ivr/web/templates``; every page gets the user, nav and CSRF token."""

    def __init__(self) -> None:
        self._env = Environment(loader=PackageLoader("ivr.web", "templates"),
                                autoescape=select_autoescape(default=True,
                                                             default_for_string=True),
                                undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self._env.filters.update(utc=utc_time, duration=duration, outcome=outcome_label)
        self._env.globals.update(elapsed=elapsed)

    def render(self, template: str, request: web.Request, **values: Any) -> str:
        session = request.get(SESSION_KEY)
        user = session.user if isinstance(session, Session) else None
        return self._env.get_template(template).render(
            user=user, nav=NAV.get(user.role, []) if user else [],
            csrf=session.csrf_token if isinstance(session, Session) else "",
            path=request.path, **values)

    def response(self, template: str, request: web.Request, *, status: int = 200,
                 **values: Any) -> web.Response:
        return web.Response(text=self.render(template, request, **values), status=status,
                            content_type="text/html")
