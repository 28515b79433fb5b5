"""What every web handler can reach, kept on the aiohttp application."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ivr.audit import AuditLog
from ivr.recording.api import RecordingLibrary
from ivr.store.repo import CallQueries
from ivr.web.call_search import CallSearch
from ivr.web.render import Pages
from ivr.web.sessions import SessionStore
from ivr.web.settings import WebSettings
from ivr.web.users import UserRepository


@dataclass(frozen=True, slots=True)
class WebContext:
    """Repositories, the recording library (None until a store is configured) and pages."""

    settings: WebSettings
    users: UserRepository
    sessions: SessionStore
    audit: AuditLog
    calls: CallQueries
    search: CallSearch
    recordings: RecordingLibrary | None
    pages: Pages


CONTEXT = web.AppKey("ivr_web_context", WebContext)


def context(request: web.Request) -> WebContext:
    return request.app[CONTEXT]


def client_address(request: web.Request) -> str:
    """The peer address as the audit records it (proxies' headers are not trusted)."""
    return (request.remote or "unknown")[:64]
