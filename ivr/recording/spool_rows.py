"""The row of a call that never reached the database, rebuilt from its spool files.

This happens when the database was down during a FastAGI call and the server then died
with the call's row still queued: the manifest (written when the call ended) knows the
caller, the route and the times; segments with no manifest know only when audio stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ivr.recording.capture import Manifest

LOST_ROW = "rec-call-row-lost"
"""``error_code`` of a rebuilt call row: its outcome is unknown."""


def lost_call_row(manifest: Manifest | None, audio_ended: float | None) -> dict[str, Any]:
    """Columns (besides id and transport) for a call known only from its recording."""
    call = manifest.call if manifest is not None and isinstance(manifest.call, dict) else {}
    ended = _when(manifest.finished if manifest is not None else None)
    if ended is None and audio_ended is not None:
        ended = datetime.fromtimestamp(audio_ended, UTC)
    started = _when(call.get("started")) or ended or datetime.now(UTC)
    return {"route": _text(call.get("route"), 64) or "unknown",
            "caller": _text(call.get("caller"), 64),
            "caller_name": _text(call.get("caller_name"), 128),
            "dialed": _text(call.get("dialed"), 64), "language": _text(call.get("language"), 16),
            "channel": _text(call.get("channel"), 128), "uniqueid": _text(call.get("uniqueid"), 64),
            "started_at": started, "ended_at": ended or started, "error_code": LOST_ROW}


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
