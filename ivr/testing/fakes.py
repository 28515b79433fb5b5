"""Small fakes for flow tests: prompts that need no TTS, events kept in a list."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ivr.events import EventKind
from ivr.telephony.call import Prompt


class TextPrompts:
    """A PromptSource whose media name is a hash of the text (nothing is rendered)."""

    async def prompt(self, text: str, language: str) -> Prompt:
        key = hashlib.sha256(f"{language}|{text}".encode()).hexdigest()[:16]
        return Prompt(text=text, language=language, media=f"fake/{key}", prompt_id=key)


@dataclass
class EventList:
    """An EventSink and CallLog that remembers everything."""

    events: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=dict)

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None:
        self.events.append((kind, node, data))

    def start(self, **values: Any) -> None:
        self.row.update(values)

    def update(self, **values: Any) -> None:
        self.row.update(values)

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [data for k, _, data in self.events if k == kind]
