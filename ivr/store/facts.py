"""What analytics needs of one call, gathered from its events as they are recorded.

Reading a hundred thousand calls' events back for a report is far too slow, so each call's
recorder keeps a few facts as the events go by and stores them when the call ends: on the
call row (``intent``, ``escalated``, ``ivr_seconds``) and in the running totals of
:mod:`ivr.store.rollup` (question nodes: visits, and visits with a no-match or a no-input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ivr.events import EventKind

_MISSES = {EventKind.NO_MATCH: 1, EventKind.NO_INPUT: 2}


@dataclass
class CallFacts:
    """Facts of one call so far (fed every event by :meth:`see`)."""

    intent: str | None = None
    escalated: bool = False
    language: str | None = None
    """The language the caller chose during the call (a ``set`` of ``language``), if any."""
    nodes: dict[str, list[int]] = field(default_factory=dict)
    """Node id → [visits, visits with a no-match, visits with a no-input] (questions only)."""
    _entered: dict[str, int] = field(default_factory=dict)
    _marked: set[tuple[str, int, int]] = field(default_factory=set)

    def see(self, kind: str, node: str | None, data: dict[str, Any]) -> None:
        if kind == EventKind.NODE_ENTERED and node is not None:
            self._entered[node] = self._entered.get(node, 0) + 1
            if data.get("node_kind") in ("ask", "collect", "survey"):
                self.nodes.setdefault(node, [0, 0, 0])[0] += 1
        elif kind in _MISSES and node is not None and node in self.nodes:
            slot = _MISSES[EventKind(kind)]
            visit = (node, self._entered.get(node, 0), slot)
            if visit not in self._marked:  # once per visit, whatever the retries
                self._marked.add(visit)
                self.nodes[node][slot] += 1
        elif kind == EventKind.INTENT:
            band, intent = data.get("band"), data.get("intent")
            if band != "reject" and isinstance(intent, str):
                self.intent = intent
            elif self.intent is None:
                self.intent = "unknown"
        elif kind == EventKind.ESCALATION:
            self.escalated = True
        elif kind == EventKind.SET and isinstance(data.get("values"), dict):
            language = data["values"].get("language")
            self.language = language if isinstance(language, str) else self.language
