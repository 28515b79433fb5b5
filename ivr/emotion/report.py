"""Distress in a call's events, for ``ivr calls show`` (and, later, the supervisor page)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ivr.events import EventKind


def distress_lines(events: Sequence[Any]) -> list[str]:
    """One line per scored turn (score, rolling, reasons) and one per escalation."""
    lines = []
    for e in events:
        data = e.data or {}
        if e.kind == EventKind.DISTRESS:
            rolling = data.get("rolling")
            lines.append(f"    turn at {e.node or '-'}: distress {data.get('score', 0):.2f} "
                         f"(confidence {data.get('confidence', 0):.2f}"
                         + (f", rolling {rolling:.2f}" if rolling is not None else "") + ")"
                         + (f" — {'; '.join(data.get('reasons') or [])}"
                            if data.get("reasons") else ""))
        elif e.kind == EventKind.ESCALATION:
            target = data.get("queue") or f"priority +{data.get('boost')}"
            lines.append(f"    ESCALATED at {e.node or '-'} ({target}): "
                         + "; ".join(data.get("reasons") or []))
    return ["  distress by turn:", *lines] if lines else []
