"""Calls and their events as JSON objects: the ``/api/calls`` answers and ``ivr calls
--json`` print the same keys."""

from __future__ import annotations

from typing import Any

from ivr.store.models import CallEventRow, CallRow

__all__ = ["call_json", "event_json"]


def call_json(row: CallRow) -> dict[str, Any]:
    return {
        "id": row.id, "transport": row.transport, "route": row.route, "caller": row.caller,
        "dialed": row.dialed, "language": row.language, "dialplan_id": row.dialplan_id,
        "dialplan_version": row.dialplan_version,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "outcome": row.outcome, "queue": row.queue, "priority": row.priority,
        "error_code": row.error_code, "instance_id": row.instance_id,
    }


def event_json(row: CallEventRow) -> dict[str, Any]:
    return {"seq": row.seq, "at": row.at.isoformat(), "kind": row.kind, "node": row.node,
            "data": row.data}
