"""Calls a server instance left open when it stopped without draining (a crash, a kill).

Every call row carries the ``instance_id`` of the server that took it. At start a server
closes its own calls that never got an outcome: they cannot be running any more. Calls of
other instances sharing the database are never touched.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.events import EventKind
from ivr.store.models import CallEventRow, CallRow

RESTART_CODE = "server-restart"


async def close_left_open(engine: AsyncEngine, instance_id: str,
                          now: datetime | None = None) -> list[str]:
    """Mark this instance's open calls ``failed`` (``server-restart``), ended ``now``, each
    with an ``error`` and a ``call_ended`` event; returns their ids."""
    now = now or datetime.now(UTC)
    is_open = and_(CallRow.instance_id == instance_id, CallRow.outcome.is_(None))
    async with engine.begin() as conn:
        rows = (await conn.execute(
            select(CallRow.id, func.max(CallEventRow.seq))
            .outerjoin(CallEventRow, CallEventRow.call_id == CallRow.id)
            .where(is_open).group_by(CallRow.id))).all()
        if not rows:
            return []
        ids = [call_id for call_id, _ in rows]
        await conn.execute(update(CallRow).where(is_open, CallRow.id.in_(ids)).values(
            ended_at=func.coalesce(CallRow.ended_at, now), outcome="failed",
            error_code=RESTART_CODE))
        events = []
        for call_id, last in rows:
            seq = (last or 0) + 1
            events += [
                {"call_id": call_id, "seq": seq, "at": now, "kind": str(EventKind.ERROR),
                 "node": None, "data": {"code": RESTART_CODE, "message": "the server stopped "
                                        "during the call; closed when it started again"}},
                {"call_id": call_id, "seq": seq + 1, "at": now, "kind": str(EventKind.CALL_ENDED),
                 "node": None, "data": {"outcome": "failed", "error": RESTART_CODE}},
            ]
        await conn.execute(insert(CallEventRow), events)
    return ids
