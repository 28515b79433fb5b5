"""Batched writes of calls and their events, off the calls' critical path.

Calls never wait for the database between two prompts: rows queue in memory and one task
writes them every ``flush_seconds`` in a single transaction. Values are cleaned for their
columns as they are queued (:mod:`ivr.store.clean`), so hostile caller ids cannot break a
batch. When the database still refuses a batch for its data (a constraint, a value), the
batch is split until the refused row is alone; that row is logged (``store-row-rejected``),
counted and dropped, and everything else is written. When the refused row is a call's own
row, the call's later rows (which its foreign key would refuse one by one) are dropped as
they come, with one ``store-rows-orphaned`` line per call. When the database is down the batch is
kept and retried; new calls see ``healthy`` false and are sent to an agent with an apology
instead of running a flow nobody can audit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.events import EventKind
from ivr.store import rollup
from ivr.store.clean import RowCleaner
from ivr.store.facts import CallFacts
from ivr.store.models import CallRow
from ivr.store.refusals import describe_error, is_bad_row, is_duplicate

_LOG = logging.getLogger(__name__)
MAX_PENDING = 200_000
LOST_CALLS_KEPT = 10_000
"""Calls whose row was refused or dropped that the writer remembers (the newest ones)."""
CLOSE_TIMEOUT = 10.0
"""Seconds the last flush at shutdown may take before the rows left are given up."""
_TABLES = CallRow.metadata.tables
_CLEANERS = {"call": RowCleaner(_TABLES["calls"]), "update": RowCleaner(_TABLES["calls"]),
             "event": RowCleaner(_TABLES["call_events"]), "turn": RowCleaner(_TABLES["turns"]),
             "survey": RowCleaner(_TABLES["surveys"])}
_CALLS: Table = _TABLES["calls"]
_INSERTS: dict[str, Any] = {"turn": insert(_TABLES["turns"]), "survey": insert(_TABLES["surveys"])}
"""Row kinds inserted one statement each (after their call's row)."""
_INSERT_CALLS = insert(_CALLS)
_INSERT_EVENTS = insert(_TABLES["call_events"])
_UPDATE_CALLS = update(_CALLS).where(_CALLS.c.id == bindparam("call_id_"))
"""Core statements built once (the ORM's bulk path costs more CPU per row than the row's
own SQL); an executemany of ``_UPDATE_CALLS`` sets the columns its rows name."""
_EVENT_COLUMNS = ("call_id", "seq", "at", "kind", "node", "data")
_EVENTS_SQL = str(_INSERT_EVENTS.compile(dialect=asyncpg.dialect(), column_keys=list(_EVENT_COLUMNS),
                                         for_executemany=True))
"""On asyncpg the events (most of the rows) go straight to the driver's executemany, whose
encoders run in C: SQLAlchemy's per-row parameter processing cost more CPU than the row's
own work, on the loop every call waits on. ``data`` is serialised as SQLAlchemy's JSON
type does (``json.dumps``)."""
_WRITE_ERRORS = (SQLAlchemyError, OSError, ConnectionError, ValueError, TypeError)


@dataclass
class _Op:
    kind: str  # "call" | "event" | "update" | "turn" | "survey" | "rollup"; "events" coalesced
    values: dict[str, Any]


class EventWriter:
    """Owns the write side of the calls tables.

    ``instance_id`` is stored with every call row this writer creates; ``on_error`` is told
    the code of every row it had to drop (for the ``ivr_errors_total`` metric)."""

    def __init__(self, engine: AsyncEngine, *, flush_seconds: float = 0.05,
                 instance_id: str | None = None, timezone: str = "UTC",
                 on_error: Callable[[str], None] | None = None,
                 max_pending: int = MAX_PENDING) -> None:
        self._engine = engine
        self._flush_seconds = flush_seconds
        self.instance_id = instance_id
        self.zone = ZoneInfo(timezone)
        """The hotline's timezone: a call's analytics day is its start's date there."""
        self._on_error = on_error
        self._max_pending = max_pending
        self._pending: list[_Op] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.healthy = True
        self.last_error: str | None = None
        self.rejected = 0
        """Rows the database refused for their data, dropped so the others are written."""
        self._dropped = 0
        self._flushing: asyncio.Future[bool] | None = None
        self._unwritten: dict[str, asyncio.Event] = {}
        """Calls whose row is queued but not written yet (see :meth:`ensure_written`)."""
        self._lost: dict[str, int] = {}
        """Calls whose row was refused or dropped, with how many later rows were dropped."""
        self.orphaned = 0
        """Rows dropped because their call's row was refused or dropped."""

    @property
    def pending(self) -> int:
        """Rows queued and not yet written."""
        return len(self._pending)

    def add(self, kind: str, values: dict[str, Any]) -> None:
        """Queue one row (cleaned for its table now, so the batch holds no hostile value)."""
        if kind != "call" and self._is_orphan(_call_of(kind, values)):
            return
        if len(self._pending) >= self._max_pending:
            self._dropped += 1
            if self._dropped in (1, 1000, 100_000):
                _LOG.error("store-backlog-full: dropped %d call rows; database down?", self._dropped)
            if kind == "call":
                self._lose(values.get("id"))
            return
        if kind == "call" and self.instance_id is not None:
            values = {"instance_id": self.instance_id, **values}
        # Rollup rows are built here from the plan's names and numbers: nothing to clean.
        cleaned, unknown = _CLEANERS[kind](values) if kind != "rollup" else (values, set())
        if unknown:
            _LOG.warning("store-unknown-column: %s row without column(s) %s", kind,
                         ", ".join(sorted(unknown)))
        self._pending.append(_Op(kind, cleaned))
        if kind == "call":
            self._unwritten.setdefault(cleaned["id"], asyncio.Event())
        self._idle.clear()
        self._wake.set()

    async def ensure_written(self, call_id: str, timeout: float = 5.0) -> bool:
        """Wait until the call's own row is written, so rows written elsewhere that refer to
        it (a recording) satisfy their foreign key. False when it is not written within
        ``timeout``, the database is down (then nobody should wait for it), or the row was
        refused or dropped."""
        if call_id in self._lost:
            return False
        written = self._unwritten.get(call_id)
        if written is None:
            return True
        if not self.healthy:
            return False
        self._wake.set()
        try:
            async with asyncio.timeout(timeout):
                await written.wait()
        except TimeoutError:
            return False
        return call_id not in self._lost

    def _lose(self, call_id: Any) -> None:
        """Remember a call whose row will never be written (refused or dropped)."""
        if isinstance(call_id, str):
            self._lost[call_id] = 0
            if len(self._lost) > LOST_CALLS_KEPT:
                del self._lost[next(iter(self._lost))]

    def _is_orphan(self, call_id: Any) -> bool:
        """True (and counted, said once per call) when ``call_id``'s row is lost."""
        if call_id not in self._lost:
            return False
        self.orphaned += 1
        self._lost[call_id] += 1
        if self._lost[call_id] == 1:
            _LOG.warning("store-rows-orphaned: dropping the later rows of call %s (its own row "
                         "was not written)", call_id)
            if self._on_error is not None:
                self._on_error("store-rows-orphaned")
        return True

    def _without_orphans(self, ops: list[_Op]) -> list[_Op]:
        """``ops`` without the rows of calls whose own row is lost."""
        if not self._lost:
            return ops
        out = []
        for op in ops:
            if op.kind == "events":
                rows = [r for r in op.values["rows"] if not self._is_orphan(r.get("call_id"))]
                if rows:
                    out.append(_Op("events", {"rows": rows}))
            elif op.kind == "call" or not self._is_orphan(_call_of(op.kind, op.values)):
                out.append(op)
        return out

    def _settled(self, ops: list[_Op]) -> None:
        """Release whoever waits for these call rows (written, or dropped as refused)."""
        for op in ops:
            written = self._unwritten.pop(op.values["id"], None) if op.kind == "call" else None
            if written is not None:
                written.set()

    async def run(self) -> None:
        """The writer task: flush, sleep, repeat (cancel to stop; pending rows are flushed)."""
        backoff = self._flush_seconds
        try:
            while True:
                await self._wake.wait()
                await asyncio.sleep(self._flush_seconds)
                self._wake.clear()
                # Shielded: a flush cut short cannot tell whether its last transaction
                # committed (retrying it would store rows twice); stopping waits for it.
                self._flushing = asyncio.ensure_future(self.flush())
                if await asyncio.shield(self._flushing):
                    backoff = self._flush_seconds
                else:
                    backoff = min(5.0, backoff * 2)
                    await asyncio.sleep(backoff)
                    self._wake.set()
        finally:
            await asyncio.shield(self.close())

    async def close(self) -> bool:
        """Last flush at shutdown; says how many rows are lost when it cannot write them."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                if self._flushing is not None:
                    await asyncio.shield(self._flushing)
                written = await self.flush()
        except TimeoutError:
            written = False
        if not written:
            _LOG.error("store-rows-lost: %d call row(s) could not be written before shutdown "
                       "(%s)", len(self._pending), self.last_error or "timed out")
        return written

    async def flush(self) -> bool:
        """Write everything pending; False (unwritten rows kept) when the database is down.

        Rows the database refuses for their data are dropped one by one (see the module)."""
        if not self._pending:
            self._idle.set()
            return True
        batch, self._pending = self._without_orphans(self._pending), []
        try:
            left = await self._write(_coalesce(batch))
        except BaseException:  # cut short (close() timed out): keep the rows for the count
            self._pending = batch + self._pending
            raise
        if left:
            self._pending = left + self._pending
            return False
        if not self.healthy:
            _LOG.warning("store-recovered: database writes work again")
        self.healthy = True
        if not self._pending:
            self._idle.set()
        return True

    async def _write(self, ops: list[_Op]) -> list[_Op]:
        """Write ``ops`` in order, each part in a transaction of its own; a part refused for
        its data is halved until the refused row is alone. Returns the ops left unwritten
        because the database is unavailable (empty when everything was written or dropped)."""
        todo = [ops]  # a stack: the next part is at the end
        while todo:
            part = todo.pop()
            try:
                await self._transaction(part)
                self._settled(part)
            except _WRITE_ERRORS as err:
                if not is_bad_row(err):
                    self._unavailable(err)
                    return part + [op for rest in reversed(todo) for op in rest]
                units = _flatten(part)
                if len(units) == 1:
                    self._reject(units[0], err)
                    self._settled(units)
                    if units[0].kind == "call":
                        todo = [kept for rest in todo if (kept := self._without_orphans(rest))]
                else:
                    middle = len(units) // 2
                    todo += [units[middle:], units[:middle]]
        return []

    async def _transaction(self, ops: list[_Op]) -> None:
        """``ops`` in one transaction, in few statements: every call row first (one
        executemany per set of columns), then the updates of calls written earlier (one
        executemany per set of columns), then
        every event, the other rows that refer to their calls (turns, surveys; per kind and
        set of columns) and the analytics totals. One round trip per kind instead of one
        per call: at hundreds of calls a second the writer keeps up."""
        calls: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        others: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        events: list[dict[str, Any]] = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        totals: list[dict[str, Any]] = []
        for op in ops:
            if op.kind == "call":
                calls.setdefault(tuple(sorted(op.values)), []).append(op.values)
            elif op.kind == "events":
                events += op.values["rows"]
            elif op.kind in _INSERTS:
                others.setdefault((op.kind, tuple(sorted(op.values))), []).append(op.values)
            elif op.kind == "rollup":
                totals += op.values["rows"]
            else:  # an update of a call written earlier: one per call (see _coalesce)
                values = {k: v for k, v in op.values.items() if k != "id"}
                if values:
                    values["call_id_"] = op.values["id"]
                    updates.setdefault(tuple(sorted(values)), []).append(values)
        async with self._engine.begin() as conn:
            for rows in calls.values():
                await conn.execute(_INSERT_CALLS, rows)
            for rows in updates.values():
                await conn.execute(_UPDATE_CALLS, rows)
            if events and conn.dialect.driver == "asyncpg":
                await conn.exec_driver_sql(_EVENTS_SQL, [
                    (r["call_id"], r.get("seq"), r.get("at"), r.get("kind"), r.get("node"),
                     json.dumps(r.get("data", {}))) for r in events])
            elif events:
                await conn.execute(_INSERT_EVENTS, events)
            for (kind, _), rows in others.items():
                await conn.execute(_INSERTS[kind], rows)
            await rollup.add(conn, totals)

    def _unavailable(self, err: BaseException) -> None:
        if self.healthy:
            _LOG.error("store-unavailable: cannot write calls (%s); will retry", describe_error(err))
        self.healthy = False
        self.last_error = describe_error(err)

    def _reject(self, op: _Op, err: BaseException) -> None:
        self.rejected += 1
        values = op.values["rows"][0] if op.kind == "events" else op.values
        kind = "event" if op.kind == "events" else op.kind
        _LOG.error("store-row-rejected: dropped one %s row of call %s the database refused (%s)",
                   kind, values.get("call_id") or values.get("id"), describe_error(err))
        if op.kind == "call" and not is_duplicate(err):  # a duplicate's row is there already
            self._lose(values.get("id"))
        if self._on_error is not None:
            self._on_error("store-row-rejected")

    async def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


def _call_of(kind: str, values: dict[str, Any]) -> Any:
    """The call a queued row belongs to."""
    return values.get("id") if kind in ("call", "update") else values.get("call_id")


def _flatten(ops: list[_Op]) -> list[_Op]:
    """One op per row (coalesced events split again), for isolating a refused row."""
    out = []
    for op in ops:
        if op.kind == "events":
            out += [_Op("events", {"rows": [row]}) for row in op.values["rows"]]
        else:
            out.append(op)
    return out


def _coalesce(batch: list[_Op]) -> list[_Op]:
    """Fewer statements, same result: a call's updates fold into its insert (or its first
    update) in this batch, and runs of events become one executemany."""
    out: list[_Op] = []
    rows: dict[str, dict[str, Any]] = {}
    for op in batch:
        if op.kind in ("event", "events"):  # "events": put back by a flush that failed
            new = [op.values] if op.kind == "event" else op.values["rows"]
            if out and out[-1].kind == "events":
                out[-1].values["rows"].extend(new)
            else:
                out.append(_Op("events", {"rows": list(new)}))
        elif op.kind in _INSERTS or op.kind == "rollup":
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
    facts: CallFacts = field(default_factory=CallFacts)
    """What analytics needs of this call (:mod:`ivr.store.facts`), stored when it ends."""
    day: date | None = None
    dialplan_id: str | None = None
    language: str | None = None
    """The call's day, dialplan and (latest) language: where its totals go."""

    def start(self, **values: Any) -> None:
        started = values.pop("started_at", None) or _now()
        self.day = rollup.day_of(started, self.writer.zone)
        self.dialplan_id, self.language = values.get("dialplan_id"), values.get("language")
        self.writer.add("call", {"id": self.call_id, "started_at": started, **values})

    def update(self, **values: Any) -> None:
        self.writer.add("update", {"id": self.call_id, **values})

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None:
        self.seq += 1
        self.writer.add("event", {"call_id": self.call_id, "seq": self.seq, "at": _now(),
                                  "kind": str(kind), "node": node, "data": data})
        if kind == EventKind.TURN:  # caller turns also get a row of their own (speech issue)
            self.writer.add("turn", turn_row(self.call_id, self.seq, node, data))
        self.facts.see(kind, node, data)
        self.language = self.facts.language or self.language
        if kind != EventKind.SURVEY and kind != EventKind.CALL_ENDED:
            return  # the two events that add to the totals below
        at = rollup.where(self.day or rollup.day_of(_now(), self.writer.zone),
                          self.dialplan_id, self.language)
        if kind == EventKind.SURVEY and isinstance(score := data.get("score"), int):
            self.writer.add("survey", {"call_id": self.call_id, "channel": "call",
                                       "language": self.language, "scale": data.get("scale"),
                                       "score": score, "created_at": _now(),
                                       "answered_at": _now()})
            self.writer.add("rollup", {"rows": rollup.survey_rows(at, score)})
        if kind == EventKind.CALL_ENDED:
            self._store_facts(at, data)

    def _store_facts(self, at: dict[str, Any], ended: dict[str, Any]) -> None:
        facts = self.facts
        seconds = ended.get("seconds")
        seconds = float(seconds) if isinstance(seconds, float | int) else None
        language = {"language": facts.language} if facts.language else {}
        self.writer.add("update", {"id": self.call_id, "intent": facts.intent, **language,
                                   "escalated": facts.escalated, "ivr_seconds": seconds})
        self.writer.add("rollup", {"rows": rollup.call_rows(
            at, facts, ended.get("outcome"), ended.get("queue"), seconds)})


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
