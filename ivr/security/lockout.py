"""Per-customer, per-factor attempt counters that hold across calls and under races.

An attempt is *claimed* before it is checked, in one conditional UPDATE: the database
serialises concurrent claims (a row lock on PostgreSQL, the write lock on SQLite), so N calls
racing the same customer get at most ``max_failures`` checks between them, however slow the
KDF. A success gives the claim back (the counter resets); a failure keeps it. The claim that
reaches the limit sets ``locked_until`` at once, so later claims are refused while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.errors import StoreError
from ivr.store.models import VerifyCounterRow as C


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to "may this caller try this factor now?"."""

    allowed: bool
    count: int
    """Attempts counted so far in this window, this one included."""
    locked_until: datetime | None
    """Set when refused, or when this attempt is the last one before the lock."""

    @property
    def last(self) -> bool:
        """A failure of this attempt leaves the factor locked."""
        return self.allowed and self.locked_until is not None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AttemptCounter:
    """Counters in ``verify_counters``; ``factor`` names what is counted (``pin``, ``otp_send``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, customer_id: str, factor: str, *, limit: int, window: float,
                    lock: float, now: datetime) -> Claim:
        """Count one attempt unless the factor is locked; lock it when this reaches ``limit``."""
        lock_at = now + timedelta(seconds=lock)
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        fresh = or_(C.window_start < now - timedelta(seconds=window),
                    and_(C.locked_until.is_not(None), C.locked_until <= now))
        ts = C.window_start.type
        new_count = case((fresh, literal(1)), else_=C.count + 1)
        stmt = (
            update(C)
            .where(C.customer_id == customer_id, C.factor == factor,
                   or_(C.locked_until.is_(None), C.locked_until <= now))
            .values(count=new_count,
                    window_start=case((fresh, literal(now, ts)), else_=C.window_start),
                    locked_until=case((new_count >= limit, literal(lock_at, ts)), else_=None))
            .returning(C.count, C.locked_until)
        )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(C).values(
                    customer_id=customer_id, factor=factor, count=0, window_start=now,
                    locked_until=None).on_conflict_do_nothing())
                row = (await conn.execute(stmt)).first()
                if row is None:
                    count, until = (await conn.execute(select(C.count, C.locked_until).where(
                        C.customer_id == customer_id, C.factor == factor))).one()
                    return Claim(False, int(count), _utc(until))
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot count attempts: {err}") from err
        return Claim(True, int(row[0]), _utc(row[1]))

    async def reset(self, customer_id: str, factor: str, now: datetime) -> None:
        """A success: forget the failures (a lock already set by others' claims is lifted)."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(C).where(C.customer_id == customer_id,
                                                   C.factor == factor)
                                   .values(count=0, window_start=now, locked_until=None))
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot reset attempts: {err}") from err

    async def note_lock(self, customer_id: str, factor: str, now: datetime) -> None:
        """The attempt that reached the limit failed: remember when (for risk rules)."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(C).where(C.customer_id == customer_id,
                                                   C.factor == factor)
                                   .values(last_locked_at=now))
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot record a lockout: {err}") from err

    async def locked(self, customer_id: str, now: datetime) -> dict[str, datetime]:
        """Factors of this customer locked right now, with when each unlocks."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(C.factor, C.locked_until).where(
                C.customer_id == customer_id, C.locked_until.is_not(None)))).all()
        out = {}
        for r in rows:
            until = _utc(r.locked_until)
            if until is not None and until > now:
                out[str(r.factor)] = until
        return out

    async def last_lock(self, customer_id: str) -> datetime | None:
        """When this customer's most recent lockout (of a verification factor) began."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(C.last_locked_at).where(
                C.customer_id == customer_id, C.factor.not_like("%_send")))).all()
        times = [t for t in (_utc(r.last_locked_at) for r in rows) if t is not None]
        return max(times) if times else None

    async def clear(self, customer_id: str) -> int:
        """Unlock every factor of a customer (an agent's decision, audited by the caller)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(update(C).where(C.customer_id == customer_id)
                                        .values(count=0, locked_until=None))
        return int(result.rowcount or 0)
