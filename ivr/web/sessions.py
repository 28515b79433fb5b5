"""Server-side login sessions: the cookie holds 256 random bits, the database its SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ivr.store.models import WebSessionRow, WebUserRow
from ivr.web.users import WebUser, as_utc, user_from_row

# Sliding expiry is written back at most this often, so page views are not all writes.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user and the CSRF token their forms must carry."""

    user: WebUser
    csrf_token: str
    created_at: datetime
    expires_at: datetime

    def csrf_ok(self, token: str | None) -> bool:
        """Constant-time comparison with this session's CSRF token."""
        return bool(token) and hmac.compare_digest(self.csrf_token.encode(),
                                                   (token or "").encode())


SESSION_KEY: Any
"""Where the request's :class:`Session` is kept (set by the auth middleware)."""
try:
    SESSION_KEY = web.RequestKey("ivr_session", Session)  # aiohttp >= 3.14
except AttributeError:  # older aiohttp: a plain key (it warns, nothing worse)
    SESSION_KEY = "ivr_session"


class SessionStore:
    """Create, load (with idle and absolute expiry) and end sessions."""

    def __init__(self, engine: AsyncEngine, *, idle: timedelta = timedelta(minutes=30),
                 max_age: timedelta = timedelta(hours=12)) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.idle = idle
        self.max_age = max_age

    async def create(self, user: WebUser, client: str | None,
                     now: datetime | None = None) -> tuple[str, Session]:
        """A new session for ``user``; returns the cookie value (shown once) and the session."""
        now = now or datetime.now(UTC)
        cookie_value = secrets.token_urlsafe(32)
        row = WebSessionRow(id_hash=_digest(cookie_value), user_id=user.id,
                            csrf_token=secrets.token_urlsafe(32), created_at=now,
                            expires_at=min(now + self.idle, now + self.max_age),
                            client=(client or "")[:64] or None)
        async with self._sessions.begin() as session:
            session.add(row)
        return cookie_value, Session(user, row.csrf_token, now, row.expires_at)

    async def load(self, cookie_value: str | None, now: datetime | None = None) -> Session | None:
        """The live session for a cookie, or None (unknown, expired, user disabled)."""
        if not cookie_value or len(cookie_value) > 128:
            return None
        now = now or datetime.now(UTC)
        key = _digest(cookie_value)
        async with self._sessions() as session:
            got = (await session.execute(
                select(WebSessionRow, WebUserRow).join(WebUserRow)
                .where(WebSessionRow.id_hash == key))).first()
        if got is None:
            return None
        row, user_row = got
        created, expires = as_utc(row.created_at), as_utc(row.expires_at)
        assert created is not None and expires is not None
        if expires <= now or user_row.disabled:
            await self.end(cookie_value)
            return None
        wanted = min(now + self.idle, created + self.max_age)
        if wanted - expires >= _TOUCH_EVERY:
            async with self._sessions.begin() as session:
                await session.execute(update(WebSessionRow).where(WebSessionRow.id_hash == key)
                                      .values(expires_at=wanted))
            expires = wanted
        return Session(user_from_row(user_row), row.csrf_token, created, expires)

    async def end(self, cookie_value: str) -> None:
        """Log out: the session row is deleted, the cookie becomes worthless."""
        async with self._sessions.begin() as session:
            await session.execute(delete(WebSessionRow)
                                  .where(WebSessionRow.id_hash == _digest(cookie_value)))

    async def end_all(self, user_id: int) -> int:
        """End every session of a user (password change, disable)."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(WebSessionRow)
                                           .where(WebSessionRow.user_id == user_id))
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_expired(self, now: datetime | None = None) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(WebSessionRow).where(
                WebSessionRow.expires_at <= (now or datetime.now(UTC))))
        return int(getattr(result, "rowcount", 0) or 0)
