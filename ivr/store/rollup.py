"""Running totals for analytics: what each finished call adds to ``analytics_days``.

A report over a hundred thousand calls must not read them all back, so every call, when it
ends, adds one to a handful of counters of its day, dialplan and language (its outcome, its
queue, its intent, each question node it visited…), in the same transaction that closes its
row. The day is the calendar day the call started in the hotline's timezone (setting
``timezone``, read when the call starts: changing it applies to later calls). Several
instances may add at once: the upsert adds to the stored numbers, it never overwrites them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ivr.store.facts import CallFacts
from ivr.store.models import AnalyticsDayRow


def day_of(at: datetime, zone: ZoneInfo) -> date:
    """The calendar day of ``at`` in ``zone`` (a naive time is UTC, as SQLite returns it)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def _row(where: dict[str, Any], metric: str, key: str | None, n: int = 1,
         total: float = 0.0) -> dict[str, Any]:
    return {**where, "metric": metric, "key": (key or "")[:64], "n": n, "total": total}


def where(day: date, dialplan_id: str | None, language: str | None) -> dict[str, Any]:
    """Which totals a call adds to."""
    return {"day": day, "dialplan_id": (dialplan_id or "")[:64],
            "language": (language or "")[:16]}


def call_rows(at: dict[str, Any], facts: CallFacts, outcome: str | None, queue: str | None,
              seconds: float | None) -> list[dict[str, Any]]:
    """What one finished call adds (``at``: :func:`where`)."""
    rows = [_row(at, "calls", outcome or "failed")]
    if outcome == "queued" and queue:
        rows.append(_row(at, "transfer", queue))
    if facts.intent:
        rows.append(_row(at, "intent", facts.intent))
    if facts.escalated:
        rows.append(_row(at, "escalated", None))
    if seconds is not None:
        rows.append(_row(at, "ivr_seconds", None, 1, float(seconds)))
    for node, (visits, no_match, no_input) in facts.nodes.items():
        rows += [_row(at, "node_visits", node, visits), _row(at, "node_no_match", node, no_match),
                 _row(at, "node_no_input", node, no_input)]
    return rows


def survey_rows(at: dict[str, Any], score: int) -> list[dict[str, Any]]:
    """What one survey answer adds."""
    return [_row(at, "survey", None, 1, float(score))]


async def add(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Add ``rows`` to the stored totals (insert, or add to the row already there)."""
    if not rows:
        return
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:  # one statement may not touch the same row twice
        key = (row["day"], row["dialplan_id"], row["language"], row["metric"], row["key"])
        if key in merged:
            merged[key]["n"] += row["n"]
            merged[key]["total"] += row["total"]
        else:
            merged[key] = dict(row)
    stmt = insert(AnalyticsDayRow)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "dialplan_id", "language", "metric", "key"],
        set_={"n": AnalyticsDayRow.n + stmt.excluded.n,
              "total": AnalyticsDayRow.total + stmt.excluded.total})
    await conn.execute(stmt, list(merged.values()))
