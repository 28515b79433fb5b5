"""Distress in a call's events, for ``ivr calls show`` (and, later, the supervisor page)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def distress_lines(events: Sequence[Any]) -> list[str]:
    """One line per scored turn (score, rolling, reasons) and one per escalation."""
    lines = []
    for e in events:
        data = e.data or {}
        if e.kind == "distress":
            rolling = data.get("rolling")
            lines.append(f"    turn at {e.node or '-'}: distress {data.get('score', 0):.2f} "
                         f"(confidence {data.get('confidence', 0):.2f}"
                         + (f", rolling {rolling:.2f}" if rolling is not None else "") + ")"
                         + (f" — {'; '.join(data.get('reasons') or [])}"
                            if data.get("reasons") else ""))
        elif e.kind == "escalation":
            target = data.get("queue") or f"priority +{data.get('boost')}"
            lines.append(f"    ESCALATED at {e.node or '-'} ({target}): "
                         + "; ".join(data.get("reasons") or []))
    return ["  distress by turn:", *lines] if lines else []
