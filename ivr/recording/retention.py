"""Retention: recordings, transcripts and call events, each with its own age limit, and
legal holds that keep everything of a call until released.

Ages count from the recording's creation (recordings) or the call's start (events,
transcripts). ``purge`` is a dry run unless ``apply``; every applied purge and every hold
change is audited. Call rows themselves are kept (they carry no audio or words).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.audit import AuditEntry, AuditLog
from ivr.recording.api import RecordingError
from ivr.recording.settings import RetentionSettings
from ivr.recording.store import RecordingStore
from ivr.store.models import Base, CallEventRow, CallRow, LegalHoldRow, RecordingRow


@dataclass
class PurgeReport:
    """What a purge removes (or would remove, in a dry run)."""

    applied: bool
    cutoffs: dict[str, str | None]
    recordings: list[str] = field(default_factory=list)
    events: int = 0
    transcripts: int = 0
    held_calls: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"applied": self.applied, "cutoffs": self.cutoffs,
                "recordings": self.recordings, "events": self.events,
                "transcripts": self.transcripts, "held_calls": self.held_calls,
                "notes": self.notes}


def _cutoff(now: datetime, days: float | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


class Retention:
    """Applies a :class:`RetentionSettings` policy."""

    def __init__(self, engine: AsyncEngine, store: RecordingStore,
                 policy: RetentionSettings) -> None:
        self.engine = engine
        self.store = store
        self.policy = policy
        self.audit = AuditLog(engine)

    async def _transcripts_table(self) -> Table | None:
        """The speech issue's ``transcripts`` table, when it exists (keyed by ``call_id``)."""
        async with self.engine.connect() as conn:
            names = await conn.run_sync(lambda c: inspect(c).get_table_names())
            if "transcripts" not in names:
                return None
            columns = await conn.run_sync(
                lambda c: [col["name"] for col in inspect(c).get_columns("transcripts")])
        if "call_id" not in columns:
            return None
        table = Base.metadata.tables.get("transcripts")
        if table is None:
            from sqlalchemy import Column, MetaData, String

            table = Table("transcripts", MetaData(), Column("call_id", String(32)))
        return table

    async def purge(self, *, apply: bool, actor: str,
                    now: datetime | None = None) -> PurgeReport:
        now = now or datetime.now(UTC)
        p = self.policy
        cut = {"recordings": _cutoff(now, p.recordings_days),
               "events": _cutoff(now, p.events_days),
               "transcripts": _cutoff(now, p.transcripts_days)}
        report = PurgeReport(apply, {k: v.isoformat() if v else None for k, v in cut.items()})
        held = select(LegalHoldRow.call_id)
        async with self.engine.connect() as conn:
            report.held_calls = int((await conn.execute(
                select(func.count()).select_from(LegalHoldRow))).scalar_one())
            if cut["recordings"]:
                report.recordings = list((await conn.execute(
                    select(RecordingRow.id).where(RecordingRow.created_at < cut["recordings"],
                                                  RecordingRow.status != "writing",
                                                  RecordingRow.call_id.not_in(held))
                )).scalars())
            old_calls = select(CallRow.id).where(CallRow.id.not_in(held))
            if cut["events"]:
                event_calls = old_calls.where(CallRow.started_at < cut["events"])
                report.events = int((await conn.execute(
                    select(func.count()).select_from(CallEventRow)
                    .where(CallEventRow.call_id.in_(event_calls)))).scalar_one())
        transcripts = await self._transcripts_table() if cut["transcripts"] else None
        if cut["transcripts"] and transcripts is None:
            report.notes.append("no transcripts table yet: nothing to purge")
        if transcripts is not None and cut["transcripts"]:
            t_calls = old_calls.where(CallRow.started_at < cut["transcripts"])
            async with self.engine.connect() as conn:
                report.transcripts = int((await conn.execute(
                    select(func.count()).select_from(transcripts)
                    .where(transcripts.c.call_id.in_(t_calls)))).scalar_one())
        if not apply:
            return report
        for rid in report.recordings:
            await self.store.delete(rid)
        async with self.engine.begin() as conn:
            if cut["events"]:
                await conn.execute(delete(CallEventRow).where(CallEventRow.call_id.in_(
                    old_calls.where(CallRow.started_at < cut["events"]))))
            if transcripts is not None and cut["transcripts"]:
                await conn.execute(delete(transcripts).where(transcripts.c.call_id.in_(
                    old_calls.where(CallRow.started_at < cut["transcripts"]))))
        await self.audit.append(AuditEntry(
            actor=actor, action="retention.purge", outcome="success", channel="cli",
            details={"recordings": len(report.recordings), "events": report.events,
                     "transcripts": report.transcripts, "cutoffs": report.cutoffs}))
        return report

    async def hold(self, call_id: str, *, actor: str, reason: str | None) -> None:
        async with self.engine.begin() as conn:
            if not (await conn.execute(select(CallRow.id).where(CallRow.id == call_id))).first():
                raise RecordingError("rec-not-found", f"no call {call_id}")
            if (await conn.execute(select(LegalHoldRow.call_id)
                                   .where(LegalHoldRow.call_id == call_id))).first():
                return
            await conn.execute(insert(LegalHoldRow).values(
                call_id=call_id, at=datetime.now(UTC), actor=actor, reason=reason))
        await self.audit.append(AuditEntry(actor=actor, action="legal.hold", outcome="success",
                                           subject=call_id, channel="cli", reason=reason))

    async def release(self, call_id: str, *, actor: str, reason: str | None) -> bool:
        async with self.engine.begin() as conn:
            gone = await conn.execute(delete(LegalHoldRow).where(LegalHoldRow.call_id == call_id))
        released = bool(gone.rowcount)
        await self.audit.append(AuditEntry(actor=actor, action="legal.release",
                                           outcome="success" if released else "not-held",
                                           subject=call_id, channel="cli", reason=reason))
        return released

    async def holds(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(LegalHoldRow).order_by(LegalHoldRow.at))).all()
        return [{"call_id": r.call_id, "at": r.at.isoformat(), "actor": r.actor,
                 "reason": r.reason} for r in rows]
