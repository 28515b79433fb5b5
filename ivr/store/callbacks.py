"""Callback requests: stored when a caller takes the offer, listed by ``ivr callbacks list``,
worked through by the AMI dialler (status and attempts per request)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.store.models import CallbackRow


@dataclass(frozen=True, slots=True)
class Callback:
    id: str
    call_id: str
    created_at: datetime
    caller: str
    queue: str
    language: str
    status: str
    attempts: int
    last_error: str | None


class CallbackRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, call_id: str, caller: str, queue: str, language: str) -> str:
        ident = uuid.uuid4().hex
        async with self.engine.begin() as conn:
            await conn.execute(insert(CallbackRow).values(
                id=ident, call_id=call_id, created_at=datetime.now(UTC), caller=caller,
                queue=queue, language=language, status="pending", attempts=0))
        return ident

    async def recent(self, limit: int = 50, status: str | None = None) -> list[Callback]:
        query = select(CallbackRow).order_by(CallbackRow.created_at.desc()).limit(limit)
        if status is not None:
            query = query.where(CallbackRow.status == status)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Callback(r.id, r.call_id, r.created_at, r.caller, r.queue, r.language,
                         r.status, r.attempts, r.last_error) for r in rows]

    async def claim(self, ident: str, retry_seconds: float, now: datetime | None = None) -> bool:
        """Take a pending request for one dial attempt. One conditional UPDATE: of several
        instances sharing the database exactly one gets it, and nobody again within
        ``retry_seconds`` of that attempt (so a caller is never rung back twice at once)."""
        now = now or datetime.now(UTC)
        due = now - timedelta(seconds=retry_seconds)
        async with self.engine.begin() as conn:
            got = await conn.execute(update(CallbackRow).where(
                CallbackRow.id == ident, CallbackRow.status == "pending",
                or_(CallbackRow.last_attempt_at.is_(None), CallbackRow.last_attempt_at <= due))
                .values(last_attempt_at=now))
        return got.rowcount == 1

    async def attempt(self, ident: str, status: str, error: str | None = None) -> None:
        """Record one dial attempt's result."""
        async with self.engine.begin() as conn:
            await conn.execute(update(CallbackRow).where(CallbackRow.id == ident).values(
                status=status, attempts=CallbackRow.attempts + 1,
                last_attempt_at=datetime.now(UTC), last_error=error))
