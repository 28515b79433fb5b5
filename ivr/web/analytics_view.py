"""Analytics for supervisors and admins: ``/analytics`` (charts), ``/analytics.csv`` and
``GET /api/analytics?from=DATE&to=DATE&dialplan=ID[&language=TAG]`` (JSON).

Dates are days in the hotline's timezone (setting ``timezone``), both included; without
them the last seven days. The figures and their keys are :mod:`ivr.store.analytics`'s.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.store.analytics import Period, analytics, csv_rows, parse_period
from ivr.web.analytics_charts import day_chart, shares
from ivr.web.auth import require_role
from ivr.web.console import console
from ivr.web.context import context
from ivr.web.query import bad_request

ROLES = ("supervisor", "admin")
"""Who may see analytics: figures only, no caller is named."""
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")


def _period(request: web.Request) -> Period:
    """The period the query asks for; 400 with a sentence when it is wrong."""
    q = request.query
    today = datetime.now(ZoneInfo(console(request).timezone)).date()
    start = q.get("from", "").strip() or (today - timedelta(days=6)).isoformat()
    end = q.get("to", "").strip() or today.isoformat()
    dialplan = q.get("dialplan", "").strip() or None
    language = q.get("language", "").strip() or None
    if dialplan is not None and not _ID.match(dialplan):
        raise bad_request(request, "dialplan must be a dialplan id such as hotline")
    if language is not None and not _LANGUAGE.match(language):
        raise bad_request(request, "language must be a tag such as en-US or zh-CN")
    try:
        return parse_period(start, end, dialplan=dialplan, language=language)
    except ValueError as err:
        raise bad_request(request, str(err)) from err


def _query(period: Period) -> str:
    parts = [f"from={period.start}", f"to={period.end}"]
    parts += [f"dialplan={period.dialplan}"] if period.dialplan else []
    parts += [f"language={period.language}"] if period.language else []
    return "&".join(parts)


@require_role(*ROLES)
async def analytics_api(request: web.Request) -> web.Response:
    period = _period(request)
    return web.json_response(await analytics(console(request).engine, period))


@require_role(*ROLES)
async def analytics_csv(request: web.Request) -> web.Response:
    period = _period(request)
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(await analytics(console(request).engine, period)))
    name = f"hotline-analytics-{period.start}-{period.end}.csv"
    return web.Response(text=out.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _dialplans(request: web.Request) -> list[str]:
    from sqlalchemy import select

    from ivr.store.models import DialplanVersionRow

    async with console(request).engine.connect() as conn:
        rows = await conn.execute(select(DialplanVersionRow.dialplan_id).distinct())
        return sorted(str(r[0]) for r in rows)


@require_role(*ROLES)
async def analytics_page(request: web.Request) -> web.StreamResponse:
    period = _period(request)
    figures = await analytics(console(request).engine, period)
    nodes = sorted(figures["nodes"].items(),
                   key=lambda kv: -(kv[1]["no_match_rate"] + kv[1]["no_input_rate"]))
    return context(request).pages.response(
        "analytics.html", request, period=period, figures=figures, query=_query(period),
        chart=day_chart(figures["by_day"]), transfers=shares(figures["transfers"]),
        intents=shares(figures["intents"]), nodes=nodes, dialplans=await _dialplans(request),
        timezone=console(request).timezone)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/analytics", analytics_page)
    app.router.add_get("/analytics.csv", analytics_csv)
    app.router.add_get("/api/analytics", analytics_api)


