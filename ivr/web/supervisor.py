"""Supervisor pages: find calls, read what happened, pick a recording to play."""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from ivr.recording.api import RecordingError, RecordingInfo
from ivr.web.auth import require_role
from ivr.web.call_search import OUTCOMES, CallFilter, parse_day
from ivr.web.context import WebContext, context
from ivr.web.distress_view import distress_plot
from ivr.web.query import bad_request
from ivr.web.survey import call_surveys
from ivr.web.timeline import timeline
from ivr.web.users import as_utc

_LOG = logging.getLogger(__name__)


def parse_filter(query: web.Request) -> tuple[CallFilter, list[str]]:
    """The search form's fields, and what was wrong with them (bad fields are dropped)."""
    problems = []
    caller = query.query.get("caller", "").strip()[:32] or None
    day = None
    if raw := query.query.get("date", "").strip():
        try:
            day = parse_day(raw)
        except ValueError as err:
            problems.append(str(err))
    outcome = query.query.get("outcome", "").strip() or None
    if outcome and outcome not in (*OUTCOMES, "active"):
        problems.append("Unknown outcome.")
        outcome = None
    raw = query.query.get("escalated", "").strip()
    escalated = None
    if raw in ("1", "0"):
        escalated = raw == "1"
    elif raw:
        problems.append("Escalated must be 1 (escalated calls) or 0 (the others).")
    return CallFilter(caller=caller, day=day, outcome=outcome, escalated=escalated), problems


async def _recorded_calls(ctx: WebContext, oldest_started: datetime) -> set[str]:
    """Ids of calls on this page that have a recording (one library query)."""
    if ctx.recordings is None:
        return set()
    try:
        found = await ctx.recordings.list(since=as_utc(oldest_started), limit=1000)
    except RecordingError as err:
        _LOG.warning("recording list failed: %s", err.code)
        return set()
    return {r.call_id for r in found}


@require_role("supervisor")
async def calls_page(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    where, problems = parse_filter(request)
    if problems:
        raise bad_request(request, " ".join(problems), page="calls.html", calls=[],
                          where=where, problems=problems, outcomes=OUTCOMES, recorded=set(),
                          escalated=set(), store_ready=ctx.recordings is not None)
    rows = await ctx.search.find(where)
    recorded = await _recorded_calls(ctx, rows[-1].started_at) if rows else set()
    escalated = await ctx.search.escalated([r.id for r in rows])
    return ctx.pages.response(
        "calls.html", request, calls=rows, where=where, problems=problems, outcomes=OUTCOMES,
        recorded=recorded, escalated=escalated, store_ready=ctx.recordings is not None)


async def _recordings(ctx: WebContext, call_id: str) -> tuple[list[RecordingInfo], str | None]:
    if ctx.recordings is None:
        return [], "Recording replay is not set up on this server."
    try:
        return await ctx.recordings.list(call_id=call_id, limit=20), None
    except RecordingError as err:
        return [], f"Recordings cannot be listed right now ({err.code})."


@require_role("supervisor")
async def call_page(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    row = await ctx.calls.get(request.match_info["call_id"])
    if row is None:
        raise web.HTTPNotFound(text=ctx.pages.render(
            "error.html", request, title="No such call",
            message="No call has that id. Search for it on the calls page."),
            content_type="text/html")
    events = await ctx.calls.events(row.id)
    recordings, problem = await _recordings(ctx, row.id)
    return ctx.pages.response(
        "call.html", request, call=row, items=timeline(events), plot=distress_plot(events),
        recordings=recordings, surveys=await call_surveys(request, row.id),
        recording_problem=problem, default_reason=ctx.settings.default_replay_reason)
