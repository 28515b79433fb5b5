"""Server instances sharing one database: their leases, and the calls one left open.

Every call row carries the ``instance_id`` of the server that took it, and every running
server holds a lease in ``instances`` that it renews every third of ``lease_seconds``.

- At start a server closes its *own* calls that never got an outcome (``server-restart``):
  they cannot be running any more.
- While it runs, a server whose own lease has been renewed for a whole lease period (so a
  database outage, which stops everybody's renewals, never makes one look lost) claims any
  other instance whose lease ran out, marks it ``lost`` and closes its open calls as
  ``failed`` with ``instance-lost``. The claim is one conditional UPDATE, so of several
  survivors exactly one closes them.
- A clean stop (drain, then stop) marks the lease ``stopped``: it has no calls left open.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ivr.events import EventKind
from ivr.store.models import CallEventRow, CallRow, InstanceRow

_LOG = logging.getLogger(__name__)
RESTART_CODE = "server-restart"
LOST_CODE = "instance-lost"
FORGET_AFTER = timedelta(days=7)
"""Rows of instances stopped or lost longer ago than this are deleted."""
_WHY = {RESTART_CODE: "the server stopped during the call; closed when it started again",
        LOST_CODE: "the server taking the call stopped answering; closed by another instance"}


async def close_left_open(engine: AsyncEngine, instance_id: str,
                          now: datetime | None = None) -> list[str]:
    """Mark this instance's open calls ``failed`` (``server-restart``), ended ``now``, each
    with an ``error`` and a ``call_ended`` event; returns their ids."""
    async with engine.begin() as conn:
        return await _close_open_calls(conn, instance_id, RESTART_CODE, now or datetime.now(UTC))


async def _close_open_calls(conn: AsyncConnection, instance_id: str, code: str,
                            now: datetime) -> list[str]:
    is_open = and_(CallRow.instance_id == instance_id, CallRow.outcome.is_(None))
    rows = (await conn.execute(
        select(CallRow.id, func.max(CallEventRow.seq))
        .outerjoin(CallEventRow, CallEventRow.call_id == CallRow.id)
        .where(is_open).group_by(CallRow.id))).all()
    if not rows:
        return []
    ids = [call_id for call_id, _ in rows]
    await conn.execute(update(CallRow).where(is_open, CallRow.id.in_(ids)).values(
        ended_at=func.coalesce(CallRow.ended_at, now), outcome="failed", error_code=code))
    events = []
    for call_id, last in rows:
        seq = (last or 0) + 1
        events += [
            {"call_id": call_id, "seq": seq, "at": now, "kind": str(EventKind.ERROR),
             "node": None, "data": {"code": code, "message": _WHY[code],
                                    "instance_id": instance_id}},
            {"call_id": call_id, "seq": seq + 1, "at": now, "kind": str(EventKind.CALL_ENDED),
             "node": None, "data": {"outcome": "failed", "error": code}},
        ]
    await conn.execute(insert(CallEventRow), events)
    return ids


async def close_lost(engine: AsyncEngine, me: str, now: datetime | None = None,
                     ) -> dict[str, list[str]]:
    """Claim every other instance whose lease ran out and close its open calls
    (``instance-lost``); returns the calls closed by instance."""
    now = now or datetime.now(UTC)
    closed: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        expired = (await conn.execute(select(InstanceRow.id).where(
            InstanceRow.id != me, InstanceRow.expires_at < now,
            InstanceRow.state.in_(("serving", "draining"))))).scalars().all()
    async with engine.begin() as conn:
        # Pods get a new id per start: forget instances long gone (their calls are closed).
        await conn.execute(delete(InstanceRow).where(
            InstanceRow.state.in_(("stopped", "lost")),
            InstanceRow.heartbeat_at < now - FORGET_AFTER))
    for other in expired:
        async with engine.begin() as conn:
            claimed = await conn.execute(update(InstanceRow).where(
                InstanceRow.id == other, InstanceRow.expires_at < now,
                InstanceRow.state.in_(("serving", "draining"))).values(state="lost"))
            if claimed.rowcount != 1:
                continue  # another survivor got there first, or it came back
            closed[other] = await _close_open_calls(conn, other, LOST_CODE, now)
    return closed


class InstanceLease:
    """This server's row in ``instances``: renewed by :meth:`run`, which also closes the calls
    of instances found lost. ``on_lost(instance, calls)`` is told about each one."""

    def __init__(self, engine: AsyncEngine, instance_id: str, *, lease_seconds: float,
                 on_lost: Callable[[str, list[str]], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self.instance_id = instance_id
        self.lease_seconds = lease_seconds
        self._on_lost = on_lost
        self._clock = clock
        self._renewed_since: float | None = None
        """Monotonic time since when every renewal succeeded (None: the last one failed)."""
        self.state = "serving"

    async def renew(self, state: str | None = None) -> bool:
        """Extend the lease by ``lease_seconds``; False when the database did not take it."""
        if state is not None:
            self.state = state
        now = datetime.now(UTC)
        values = {"heartbeat_at": now, "state": self.state,
                  "expires_at": now + timedelta(seconds=self.lease_seconds)}
        insert_ = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert_(InstanceRow).values(id=self.instance_id, started_at=now,
                                           host=socket.gethostname()[:128], **values)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                                              set_=values))
        except (SQLAlchemyError, OSError) as err:
            if self._renewed_since is not None:
                _LOG.warning("instance-lease-failed: cannot renew the lease of %s (%s)",
                             self.instance_id, type(err).__name__)
            self._renewed_since = None
            return False
        if self._renewed_since is None:
            self._renewed_since = self._clock()
        return True

    async def start(self) -> None:
        """Take the lease as a fresh start (a ``lost`` mark from before is overwritten)."""
        now = datetime.now(UTC)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(InstanceRow).where(InstanceRow.id == self.instance_id)
                                   .values(started_at=now))
        except (SQLAlchemyError, OSError):
            pass  # renew() says it
        await self.renew("serving")

    @property
    def may_judge(self) -> bool:
        """Only a server whose own lease held for a whole period judges others lost."""
        since = self._renewed_since
        return since is not None and self._clock() - since >= self.lease_seconds

    async def check_others(self) -> dict[str, list[str]]:
        if not self.may_judge:
            return {}
        try:
            closed = await close_lost(self._engine, self.instance_id)
        except (SQLAlchemyError, OSError) as err:
            _LOG.warning("instance-check-failed: %s", type(err).__name__)
            return {}
        for other, calls in closed.items():
            _LOG.warning("instance-lost: %s stopped renewing its lease; closed %d call(s) "
                         "it left in progress", other, len(calls))
            if self._on_lost is not None:
                self._on_lost(other, calls)
        return closed

    async def run(self) -> None:
        """Renew every third of the lease and look for lost instances, until cancelled."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if await self.renew():
                await self.check_others()

    async def stop(self) -> None:
        """A clean stop: the lease ends now, marked ``stopped``."""
        now = datetime.now(UTC)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(InstanceRow).where(InstanceRow.id == self.instance_id)
                                   .values(state="stopped", heartbeat_at=now, expires_at=now))
        except (SQLAlchemyError, OSError) as err:
            _LOG.warning("instance-lease-failed: cannot mark %s stopped (%s)", self.instance_id,
                         type(err).__name__)
