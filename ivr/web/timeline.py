"""Call events as a supervisor reads them: who said or pressed what, in order.

Secret collects (PINs, OTPs, card numbers) only ever show that something was entered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ivr.events import EventKind

Speaker = Literal["ivr", "caller", "system", "problem"]
# Fields that may never be shown for a secret collect, whatever a future event carries.
_SECRET_FIELDS = ("digits", "value", "text")


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One row of the call page's timeline."""

    at: datetime
    speaker: Speaker
    text: str
    node: str | None
    kind: str


def _attempt(data: dict[str, Any]) -> str:
    return f" (attempt {data['attempt']})" if data.get("attempt") else ""


def describe(kind: str, node: str | None, data: dict[str, Any]) -> tuple[Speaker, str]:
    """The speaker and a plain-language sentence for one event."""
    secret = bool(data.get("secret"))
    if secret:
        data = {k: v for k, v in data.items() if k not in _SECRET_FIELDS}
    match kind:
        case EventKind.PROMPT:
            return "ivr", f"“{data.get('text', '')}”"
        case EventKind.DTMF:
            return "caller", f"Pressed {data.get('digits', '?')}{_attempt(data)}"
        case EventKind.COLLECTED if secret:
            return "caller", f"Entered {data.get('var', 'a value')} — secret, not shown"
        case EventKind.COLLECTED:
            return "caller", f"Entered {data.get('digits', '')} for {data.get('var', '?')}"
        case EventKind.NO_MATCH if secret:
            return "caller", f"Entered an invalid secret — not shown{_attempt(data)}"
        case EventKind.NO_MATCH:
            return "caller", f"Pressed {data.get('digits', '?')}: not an option{_attempt(data)}"
        case EventKind.NO_INPUT:
            return "caller", f"No answer{_attempt(data)}"
        case EventKind.NODE_ENTERED:
            return "system", f"Step {node} ({data.get('node_kind', '?')})"
        case EventKind.TRANSFER:
            return "system", (f"Transferred to queue {data.get('queue')} "
                              f"(priority {data.get('priority', 0)})")
        case EventKind.CALL_ENDED:
            return "system", f"Call ended: {data.get('outcome', '?')}"
        case EventKind.CALLER_HUNG_UP:
            return "caller", "Hung up"
        case EventKind.HANGUP:
            return "system", "IVR hung up"
        case EventKind.BRANCH:
            return "system", f"Checked {data.get('var')}: went to {data.get('target')}"
        case EventKind.HOURS:
            return "system", "Within opening hours" if data.get("open") else "Outside opening hours"
        case EventKind.RETRIES_EXHAUSTED:
            return "problem", "No valid answer after every retry"
        case EventKind.DISTRESS:
            reasons = "; ".join(str(r) for r in data.get("reasons") or ())
            return "system", (f"Distress {float(data.get('score') or 0):.2f}"
                              + (f": {reasons}" if reasons else ""))
        case EventKind.ESCALATION:
            where = (f"sent to {data.get('queue')}" if data.get("action") == "queue"
                     else f"priority +{data.get('boost', 0)}")
            return "system", f"Escalated ({where}): " + "; ".join(
                str(r) for r in data.get("reasons") or ())
        case EventKind.SURVEY:
            return "caller", (f"Survey: {data.get('score')} out of {data.get('scale')} "
                              f"(by {data.get('mode', 'keypad')})")
        case EventKind.ERROR:
            return "problem", f"Error {data.get('code', '?')}: {data.get('message', '')}"
    return "system", kind.replace("_", " ").capitalize()


def timeline(events: list[Any]) -> list[TimelineItem]:
    """Rows for :class:`~ivr.store.models.CallEventRow` objects, in sequence order."""
    items = []
    for event in events:
        speaker, text = describe(event.kind, event.node, dict(event.data or {}))
        items.append(TimelineItem(event.at, speaker, text, event.node, event.kind))
    return items
