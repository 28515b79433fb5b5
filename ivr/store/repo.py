"""Repositories: dialplan versions and call queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ivr.errors import StoreError
from ivr.store.models import CallEventRow, CallRow, DialplanVersionRow


@dataclass(frozen=True, slots=True)
class DialplanVersion:
    """A published version."""

    dialplan_id: str
    version: int
    source: str
    sha256: str
    published_at: datetime
    note: str | None


def _version(row: DialplanVersionRow) -> DialplanVersion:
    return DialplanVersion(row.dialplan_id, row.version, row.source, row.sha256,
                           row.published_at, row.note)


class DialplanRepository:
    """Every version is kept; the highest one is live."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def publish(self, dialplan_id: str, source: str, sha256: str,
                      note: str | None = None) -> DialplanVersion:
        """Store a new version (numbered after the newest); retried if two publish at once."""
        version = await self._publish(dialplan_id, source, sha256, note, only_first=False)
        assert version is not None
        return version

    async def publish_first(self, dialplan_id: str, source: str, sha256: str,
                            note: str | None = None) -> DialplanVersion | None:
        """Version 1, unless the dialplan has a version already (None): several instances
        starting together on an empty database publish their folder once."""
        return await self._publish(dialplan_id, source, sha256, note, only_first=True)

    async def _publish(self, dialplan_id: str, source: str, sha256: str, note: str | None,
                       *, only_first: bool) -> DialplanVersion | None:
        for _ in range(5):
            try:
                async with self._sessions.begin() as session:
                    newest = await session.scalar(
                        select(func.max(DialplanVersionRow.version))
                        .where(DialplanVersionRow.dialplan_id == dialplan_id))
                    if only_first and newest is not None:
                        return None
                    row = DialplanVersionRow(
                        dialplan_id=dialplan_id, version=(newest or 0) + 1, source=source,
                        sha256=sha256, published_at=datetime.now(UTC), note=note)
                    session.add(row)
                return _version(row)
            except IntegrityError:
                continue
            except SQLAlchemyError as err:
                raise StoreError("store-unavailable", f"cannot publish: {err}") from err
        raise StoreError("store-conflict", "too many concurrent publishes; try again")

    async def history(self, dialplan_id: str) -> list[DialplanVersion]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(DialplanVersionRow).where(DialplanVersionRow.dialplan_id == dialplan_id)
                .order_by(DialplanVersionRow.version.desc()))
            return [_version(r) for r in rows]

    async def get(self, dialplan_id: str, version: int) -> DialplanVersion | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(DialplanVersionRow).where(DialplanVersionRow.dialplan_id == dialplan_id,
                                                 DialplanVersionRow.version == version))
            return _version(row) if row else None

    async def live(self) -> list[DialplanVersion]:
        """The newest version of every dialplan."""
        newest = (select(DialplanVersionRow.dialplan_id,
                         func.max(DialplanVersionRow.version).label("v"))
                  .group_by(DialplanVersionRow.dialplan_id).subquery())
        async with self._sessions() as session:
            rows = await session.scalars(
                select(DialplanVersionRow).join(
                    newest, (DialplanVersionRow.dialplan_id == newest.c.dialplan_id)
                    & (DialplanVersionRow.version == newest.c.v)))
            return [_version(r) for r in rows]

    async def marker(self) -> int:
        """Changes whenever anything is published (cheap to poll)."""
        async with self._sessions() as session:
            return int(await session.scalar(select(func.max(DialplanVersionRow.id))) or 0)


def caller_calls_query(caller: str, limit: int) -> Select[CallRow]:
    """One caller id's most recent calls, newest first: a hot lookup with its own index."""
    return (select(CallRow).where(CallRow.caller == caller)
            .order_by(CallRow.started_at.desc()).limit(limit))


def like_literal(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern escaped with a backslash: a caller
    typing ``%`` or ``_`` searches for that character, not for anything."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CallQueries:
    """Read side for supervisors and the CLI."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def recent(self, *, limit: int = 50, outcome: str | None = None,
                   caller: str | None = None) -> list[CallRow]:
        query = select(CallRow).order_by(CallRow.started_at.desc()).limit(limit)
        if outcome:
            query = query.where(CallRow.outcome == outcome)
        if caller:
            query = query.where(CallRow.caller.like(f"%{like_literal(caller)}", escape="\\"))
        async with self._sessions() as session:
            return list(await session.scalars(query))

    async def by_caller(self, caller: str, *, limit: int = 10) -> list[CallRow]:
        """One caller id's most recent calls, newest first (``ix_calls_caller_started_at``)."""
        async with self._sessions() as session:
            return list(await session.scalars(caller_calls_query(caller, limit)))

    async def get(self, call_id: str) -> CallRow | None:
        async with self._sessions() as session:
            row = await session.get(CallRow, call_id)
            if row is None and len(call_id) >= 6:
                row = await session.scalar(
                    select(CallRow).where(CallRow.id.like(f"{like_literal(call_id)}%", escape="\\"))
                    .limit(1))
            return row

    async def events(self, call_id: str) -> list[CallEventRow]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CallEventRow).where(CallEventRow.call_id == call_id)
                .order_by(CallEventRow.seq))
            return list(rows)

    async def counts(self) -> dict[str, Any]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(CallRow.outcome, func.count()).group_by(CallRow.outcome))
            return {str(outcome): n for outcome, n in rows}
