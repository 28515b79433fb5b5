"""The row of a call that never reached the database, rebuilt from its spool files.

This happens when the database was down during a FastAGI call and the server then died
with the call's row still queued: the manifest (written when the call ended) knows the
caller, the route and the times; segments with no manifest know only when audio stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ivr.recording.capture import Manifest
from ivr.store.clean import RowCleaner
from ivr.store.models import CallRow

LOST_ROW = "rec-call-row-lost"
"""``error_code`` of a rebuilt call row: its outcome is unknown."""


def lost_call_row(manifest: Manifest | None, audio_ended: float | None) -> dict[str, Any]:
    """Columns (besides id and transport) for a call known only from its recording."""
    call = manifest.call if manifest is not None and isinstance(manifest.call, dict) else {}
    ended = _when(manifest.finished if manifest is not None else None)
    if ended is None and audio_ended is not None:
        ended = datetime.fromtimestamp(audio_ended, UTC)
    started = _when(call.get("started")) or ended or datetime.now(UTC)
    values = {name: _text(call.get(name)) for name in _COPIED}
    values["route"] = values["route"] or "unknown"
    # Cleaned as the writer cleans rows: a manifest holds what came from the network, and a
    # value the database refuses (NUL on PostgreSQL) would keep the plaintext here forever.
    cleaned, _unknown = _CLEAN({**values, "started_at": started, "ended_at": ended or started,
                                "error_code": LOST_ROW})
    return cleaned


_COPIED = ("route", "caller", "caller_name", "dialed", "language", "channel", "uniqueid")
_CLEAN = RowCleaner(CallRow.__table__)  # type: ignore[arg-type]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
