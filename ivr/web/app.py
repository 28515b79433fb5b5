"""aiohttp application: /healthz, /metrics and a small read-only REST API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ivr.metrics import Metrics
from ivr.store.models import CallEventRow, CallRow
from ivr.store.repo import CallQueries, DialplanRepository


def call_json(row: CallRow) -> dict[str, Any]:
    return {
        "id": row.id, "transport": row.transport, "route": row.route, "caller": row.caller,
        "dialed": row.dialed, "language": row.language, "dialplan_id": row.dialplan_id,
        "dialplan_version": row.dialplan_version,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "outcome": row.outcome, "queue": row.queue, "priority": row.priority,
        "error_code": row.error_code,
    }


def event_json(row: CallEventRow) -> dict[str, Any]:
    return {"seq": row.seq, "at": row.at.isoformat(), "kind": row.kind, "node": row.node,
            "data": row.data}


def build_web_app(
    metrics: Metrics, calls: CallQueries, dialplans: DialplanRepository,
    is_ready: Callable[[], bool], status: Callable[[], dict[str, Any]],
) -> web.Application:
    """The HTTP side of ``ivr serve``."""
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        body = {"ready": is_ready(), **status()}
        return web.json_response(body, status=200 if body["ready"] else 503)

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def list_calls(request: web.Request) -> web.Response:
        try:
            limit = max(1, min(500, int(request.query.get("limit", "50"))))
        except ValueError:
            raise web.HTTPBadRequest(text="limit must be a number") from None
        rows = await calls.recent(limit=limit, outcome=request.query.get("outcome"))
        return web.json_response({"calls": [call_json(r) for r in rows]})

    async def show_call(request: web.Request) -> web.Response:
        row = await calls.get(request.match_info["call_id"])
        if row is None:
            raise web.HTTPNotFound(text="no such call")
        events = await calls.events(row.id)
        return web.json_response({"call": call_json(row), "events": [event_json(e) for e in events]})

    async def list_dialplans(_: web.Request) -> web.Response:
        live = await dialplans.live()
        return web.json_response({"dialplans": [
            {"id": v.dialplan_id, "version": v.version, "published_at": v.published_at.isoformat(),
             "note": v.note} for v in live]})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{call_id}", show_call)
    app.router.add_get("/api/dialplans", list_dialplans)
    return app
