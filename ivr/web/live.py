"""Live calls for supervisors: ``/live`` (the page) and ``/live/events`` (server-sent events).

The stream opens with a ``snapshot`` of the calls in progress on this instance, then one
message per change (``start``, ``update``, ``end``), each stamped with the server's clock
(``at``) so the page (and the bench) can tell how late it arrived. A comment every 15 s
keeps proxies from closing an idle stream. Other instances' calls in progress are counted
from the database (their own live page shows them).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from ivr.store.models import CallRow
from ivr.web.auth import require_role
from ivr.web.console import CONSOLE, console
from ivr.web.context import context

HEARTBEAT = 15.0
ROLES = ("supervisor",)
"""Who may watch calls live (callers' numbers are masked; admins and auditors may not)."""


async def _other_instances(request: web.Request) -> list[tuple[str, int]]:
    """(instance, calls in progress) for the other instances sharing the database."""
    board = console(request).board
    since = datetime.now(UTC) - timedelta(hours=4)
    query = (sa.select(CallRow.instance_id, sa.func.count())
             .where(CallRow.ended_at.is_(None), CallRow.started_at >= since,
                    CallRow.instance_id.is_not(None), CallRow.instance_id != board.instance_id)
             .group_by(CallRow.instance_id).order_by(CallRow.instance_id))
    async with console(request).engine.connect() as conn:
        return [(str(i), int(n)) for i, n in await conn.execute(query)]


@require_role(*ROLES)
async def live_page(request: web.Request) -> web.StreamResponse:
    board = console(request).board
    return context(request).pages.response(
        "live.html", request, instance=board.instance_id or "this server",
        others=await _other_instances(request))


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@require_role(*ROLES)
async def live_events(request: web.Request) -> web.StreamResponse:
    board = console(request).board
    watcher = board.watch()
    if watcher is None:
        raise web.HTTPServiceUnavailable(text="too many live pages are open; close one",
                                         headers={"Retry-After": "5"})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "X-Accel-Buffering": "no"})
    try:
        await response.prepare(request)
        await response.write(b"retry: 2000\n\n" + _sse("snapshot", {
            "instance": board.instance_id, "calls": board.snapshot()}))
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT):
                    message = await watcher.queue.get()
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if message is None:  # dropped (too slow) or the server is stopping
                break
            await response.write(_sse(message["type"], message))
    except ConnectionResetError:
        pass  # the page went away
    finally:
        board.unwatch(watcher)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/live", live_page)
    app.router.add_get("/live/events", live_events)

    async def stop_streams(_: web.Application) -> None:
        app[CONSOLE].board.close()

    app.on_shutdown.append(stop_streams)
