"""Batched writes of calls and their events, off the calls' critical path.

Calls never wait for the database between two prompts: rows queue in memory and one task
writes them every ``flush_seconds`` in a single transaction (all or nothing). When the
database is down the batch is kept and retried; new calls see ``healthy`` false and are
sent to an agent with an apology instead of running a flow nobody can audit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.store.models import CallEventRow, CallRow, TurnRow

_LOG = logging.getLogger(__name__)
MAX_PENDING = 200_000


@dataclass
class _Op:
    kind: str  # "call" | "event" | "update"
    values: dict[str, Any]


class EventWriter:
    """Owns the write side of the calls tables."""

    def __init__(self, engine: AsyncEngine, *, flush_seconds: float = 0.05) -> None:
        self._engine = engine
        self._flush_seconds = flush_seconds
        self._pending: list[_Op] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.healthy = True
        self.last_error: str | None = None
        self._dropped = 0

    def add(self, kind: str, values: dict[str, Any]) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._dropped += 1
            if self._dropped in (1, 1000, 100_000):
                _LOG.error("store-backlog-full: dropped %d call rows; database down?", self._dropped)
            return
        self._pending.append(_Op(kind, values))
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """The writer task: flush, sleep, repeat (cancel to stop; pending rows are flushed)."""
        backoff = self._flush_seconds
        try:
            while True:
                await self._wake.wait()
                await asyncio.sleep(self._flush_seconds)
                self._wake.clear()
                if await self.flush():
                    backoff = self._flush_seconds
                else:
                    backoff = min(5.0, backoff * 2)
                    await asyncio.sleep(backoff)
                    self._wake.set()
        finally:
            await asyncio.shield(self.flush())

    async def flush(self) -> bool:
        """Write everything pending in one transaction; False (rows kept) on failure."""
        if not self._pending:
            self._idle.set()
            return True
        batch, self._pending = self._pending, []
        try:
            async with self._engine.begin() as conn:
                for op in _coalesce(batch):
                    if op.kind == "call":
                        await conn.execute(insert(CallRow), [op.values])
                    elif op.kind == "events":
                        await conn.execute(insert(CallEventRow), op.values["rows"])
                    elif op.kind == "turn":
                        await conn.execute(insert(TurnRow), [op.values])
                    else:
                        values = dict(op.values)
                        call_id = values.pop("id")
                        await conn.execute(update(CallRow).where(CallRow.id == call_id)
                                           .values(**values))
        except (SQLAlchemyError, OSError, ConnectionError) as err:
            self._pending = batch + self._pending
            if self.healthy:
                _LOG.error("store-unavailable: cannot write calls (%s); will retry", err)
            self.healthy = False
            self.last_error = str(err)
            return False
        if not self.healthy:
            _LOG.warning("store-recovered: database writes work again")
        self.healthy = True
        if not self._pending:
            self._idle.set()
        return True

    async def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


def _coalesce(batch: list[_Op]) -> list[_Op]:
    """Fewer statements, same result: a call's updates fold into its insert (or its first
    update) in this batch, and runs of events become one executemany."""
    out: list[_Op] = []
    rows: dict[str, dict[str, Any]] = {}
    for op in batch:
        if op.kind == "event":
            if out and out[-1].kind == "events":
                out[-1].values["rows"].append(op.values)
            else:
                out.append(_Op("events", {"rows": [op.values]}))
        elif op.kind == "turn":
            out.append(op)
        elif op.kind == "update" and op.values["id"] in rows:
            rows[op.values["id"]].update(op.values)
        else:
            values = dict(op.values)
            rows[values["id"]] = values
            out.append(_Op(op.kind, values))
    return out


@dataclass
class CallRecorder:
    """The engine's event sink for one call, writing through the shared writer."""

    writer: EventWriter
    call_id: str
    seq: int = 0

    def start(self, **values: Any) -> None:
        self.writer.add("call", {"id": self.call_id, "started_at": _now(), **values})

    def update(self, **values: Any) -> None:
        self.writer.add("update", {"id": self.call_id, **values})

    def event(self, kind: str, node: str | None = None, **data: Any) -> None:
        self.seq += 1
        self.writer.add("event", {"call_id": self.call_id, "seq": self.seq, "at": _now(),
                                  "kind": kind, "node": node, "data": data})
        if kind == "turn":  # caller turns also get a row of their own (speech issue)
            self.writer.add("turn", turn_row(self.call_id, self.seq, node, data))


def _now() -> datetime:
    return datetime.now(UTC)


def turn_row(call_id: str, seq: int, node: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """A ``turn`` event's data as a ``turns`` row."""
    attempt = data.get("attempt")
    return {"call_id": call_id, "seq": seq, "at": _now(), "node": node,
            "attempt": attempt if isinstance(attempt, int) else None,
            "language": data.get("language"), "mode": data.get("mode") or "none",
            "result": data.get("result") or "", "transcript": data.get("transcript"),
            "engine": data.get("engine"), "confidence": data.get("confidence"),
            "audio_seconds": data.get("audio_seconds"), "decode_ms": data.get("decode_ms"),
            "end_to_final_ms": data.get("end_to_final_ms"),
            "barged_in": bool(data.get("barged_in")), "error_code": data.get("error")}
