"""What the live view, analytics and survey pages need beyond :class:`WebContext`."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.web.live_board import LiveBoard


@dataclass
class Console:
    """The hotline's timezone (analytics days), this instance's live board, the database."""

    engine: AsyncEngine
    timezone: str = "UTC"
    board: LiveBoard = field(default_factory=LiveBoard)


CONSOLE = web.AppKey("ivr_console", Console)


def console(request: web.Request) -> Console:
    return request.app[CONSOLE]


def add_routes(app: web.Application, value: Console) -> None:
    """The live view, analytics and the public survey page (``ivr.web.app`` calls this)."""
    from ivr.web import analytics_view, live, survey

    app[CONSOLE] = value
    live.add_routes(app)
    analytics_view.add_routes(app)
    survey.add_routes(app)
