"""Supervisor call search: by caller number, day (UTC), outcome and distress escalation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ivr.events import EventKind
from ivr.store.models import CallEventRow, CallRow

OUTCOMES = ("self_served", "queued", "abandoned", "failed")
EARLIEST_DAY = date(1970, 1, 1)
"""No call is older; a search before it is a typing mistake."""


def latest_day() -> date:
    """Tomorrow (UTC): a supervisor east of UTC may already be living in it."""
    return (datetime.now(UTC) + timedelta(days=1)).date()


def parse_day(text: str) -> date:
    """A search day from ``YYYY-MM-DD``; ValueError with a message a supervisor can act on
    when it is malformed, not a real day (2026-02-30) or outside the days calls can have."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError("Date must look like 2026-11-25 and be a real day.") from None
    if not EARLIEST_DAY <= day <= latest_day():
        raise ValueError(f"Date must be between {EARLIEST_DAY} and {latest_day()}.")
    return day


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What the supervisor typed into the search form (all optional)."""

    caller: str | None = None
    """Any part of the caller's number."""
    day: date | None = None
    """Calls that started on this UTC day."""
    outcome: str | None = None
    """One of :data:`OUTCOMES`, or ``active`` for calls still running."""
    escalated: bool | None = None
    """True: calls a distressed caller escalated (an ``escalation`` event); False: the
    others; None: both."""
    limit: int = 100

    @property
    def empty(self) -> bool:
        return not (self.caller or self.day or self.outcome or self.escalated is not None)


class CallSearch:
    """Read-only call queries for the supervisor pages."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def find(self, where: CallFilter) -> list[CallRow]:
        query = select(CallRow).order_by(CallRow.started_at.desc()).limit(where.limit)
        if where.caller:
            query = query.where(CallRow.caller.contains(where.caller, autoescape=True))
        if where.day:
            start = datetime.combine(where.day, time(0), tzinfo=UTC)
            query = query.where(CallRow.started_at >= start,
                                CallRow.started_at < start + timedelta(days=1))
        if where.outcome == "active":
            query = query.where(CallRow.outcome.is_(None))
        elif where.outcome:
            query = query.where(CallRow.outcome == where.outcome)
        if where.escalated is not None:
            escalated = exists().where(CallEventRow.call_id == CallRow.id,
                                       CallEventRow.kind == EventKind.ESCALATION.value)
            query = query.where(escalated if where.escalated else ~escalated)
        async with self._sessions() as session:
            return list(await session.scalars(query))

    async def escalated(self, call_ids: list[str]) -> set[str]:
        """Which of ``call_ids`` were escalated (one query, for the list's badges)."""
        if not call_ids:
            return set()
        query = select(CallEventRow.call_id).distinct().where(
            CallEventRow.call_id.in_(call_ids), CallEventRow.kind == EventKind.ESCALATION.value)
        async with self._sessions() as session:
            return set(await session.scalars(query))
