"""Web users and roles, and the login check with per-user lockout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import DateTime, and_, case, literal, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ivr.errors import IvrError
from ivr.store.models import WebUserRow
from ivr.web.passwords import MIN_LENGTH, hash_password_async, needs_rehash, verify_password_async

ROLES = ("admin", "supervisor", "auditor", "reviewer")
"""admin: manages users and edits dialplans; supervisor: finds calls and replays recordings;
auditor: reads the audit trail; reviewer: approves or rejects phone-number changes the risk
rules held back. Roles do not nest: an admin cannot replay, a reviewer cannot edit."""
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class WebError(IvrError):
    """Web users, sessions and requests: ``web-user-exists``, ``web-user-unknown``,
    ``web-bad-name``, ``web-bad-role``, ``web-weak-password``."""

    area = "web"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class WebUser:
    """A web user as the rest of the app sees it (no password hash)."""

    id: int
    name: str
    role: str
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def user_from_row(row: WebUserRow) -> WebUser:
    created = as_utc(row.created_at)
    assert created is not None
    return WebUser(row.id, row.name, row.role, bool(row.disabled), row.failed_logins or 0,
                   as_utc(row.locked_until), created, as_utc(row.last_login_at))


@dataclass(frozen=True, slots=True)
class LoginResult:
    """How a login attempt ended. ``user`` is set only when ``ok``."""

    outcome: Literal["ok", "bad-password", "unknown-user", "locked", "disabled"]
    user: WebUser | None = None
    name: str | None = None
    """The account the attempt was against (None for an unknown name)."""
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise WebError("web-bad-name", "user names are 2-64 characters: lowercase letters, "
                       "digits, '.', '_' or '-', starting with a letter or digit")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise WebError("web-bad-role", f"role must be one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WebError("web-weak-password", f"passwords need at least {MIN_LENGTH} characters")
    return password


class UserRepository:
    """Web users in the database; failed logins are counted with one atomic UPDATE."""

    def __init__(self, engine: AsyncEngine, *, max_failures: int = 5,
                 lockout: timedelta = timedelta(minutes=15)) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.max_failures = max_failures
        self.lockout = lockout

    async def add(self, name: str, role: str, password: str) -> WebUser:
        check_name(name)
        check_role(role)
        hashed = await hash_password_async(check_password(password))
        row = WebUserRow(name=name, role=role, password_hash=hashed, disabled=False,
                         failed_logins=0, created_at=datetime.now(UTC))
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError as err:
            raise WebError("web-user-exists", f"a user named {name!r} already exists") from err
        return user_from_row(row)

    async def get(self, name: str) -> WebUser | None:
        async with self._sessions() as session:
            row = await session.scalar(select(WebUserRow).where(WebUserRow.name == name))
            return user_from_row(row) if row else None

    async def list(self) -> list[WebUser]:
        async with self._sessions() as session:
            return [user_from_row(r) for r in await session.scalars(
                select(WebUserRow).order_by(WebUserRow.name))]

    async def _set(self, name: str, **values: object) -> WebUser:
        async with self._sessions.begin() as session:
            row = await session.scalar(select(WebUserRow).where(WebUserRow.name == name))
            if row is None:
                raise WebError("web-user-unknown", f"no user named {name!r}")
            for key, value in values.items():
                setattr(row, key, value)
        return user_from_row(row)

    async def set_password(self, name: str, password: str) -> WebUser:
        hashed = await hash_password_async(check_password(password))
        return await self._set(name, password_hash=hashed, failed_logins=0, locked_until=None)

    async def set_disabled(self, name: str, disabled: bool) -> WebUser:
        return await self._set(name, disabled=disabled)

    async def set_role(self, name: str, role: str) -> WebUser:
        return await self._set(name, role=check_role(role))

    async def unlock(self, name: str) -> WebUser:
        return await self._set(name, failed_logins=0, locked_until=None)

    async def authenticate(self, name: str, password: str,
                           now: datetime | None = None) -> LoginResult:
        """Check a password. Every attempt is first counted against the account in one
        atomic UPDATE that refuses locked accounts, so parallel guesses cannot get past the
        limit; a success then clears the count."""
        now = now or datetime.now(UTC)
        try:
            async with self._sessions() as session:
                row = await session.scalar(select(WebUserRow).where(WebUserRow.name == name))
            if row is None:
                await verify_password_async(None, password)
                return LoginResult("unknown-user")
            if row.disabled:
                await verify_password_async(None, password)
                return LoginResult("disabled", name=name)
            counted = await self._count_attempt(row.id, now)
            if counted is None:
                return LoginResult("locked", name=name, locked_until=as_utc(row.locked_until))
            if not await verify_password_async(row.password_hash, password):
                locked = counted[1] if counted[1] is not None and counted[1] > now else None
                return LoginResult("locked" if locked else "bad-password", name=name,
                                   locked_until=locked)
            user = await self._login_succeeded(name, password, row.password_hash, now)
            return LoginResult("ok", user=user, name=name)
        except SQLAlchemyError as err:
            raise WebError("web-store-unavailable", f"cannot check the login: {err}") from err

    async def _count_attempt(self, user_id: int, now: datetime
                             ) -> tuple[int, datetime | None] | None:
        """Count one attempt; None when the account is locked (nothing counted)."""
        col = WebUserRow
        expired = and_(col.locked_until.isnot(None), col.locked_until <= now)
        count = case((expired, 0), else_=col.failed_logins) + 1
        until = literal(now + self.lockout, DateTime(timezone=True))
        stmt = (update(col)
                .where(col.id == user_id, or_(col.locked_until.is_(None), col.locked_until <= now))
                .values(failed_logins=count,
                        locked_until=case((count >= self.max_failures, until), else_=None))
                .returning(col.failed_logins, col.locked_until)
                .execution_options(synchronize_session=False))
        async with self._sessions.begin() as session:
            got = (await session.execute(stmt)).first()
        return None if got is None else (int(got[0]), as_utc(got[1]))

    async def _login_succeeded(self, name: str, password: str, hashed: str,
                               now: datetime) -> WebUser:
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None,
                                     "last_login_at": now}
        if needs_rehash(hashed):
            values["password_hash"] = await hash_password_async(password)
        return await self._set(name, **values)
