"""What a node handler may use: one call's caller, plan and state, and the ways to talk to it.

The engine builds one :class:`NodeContext` per call and hands it to every node handler (the
keypad loops, voice questions, verify, action, yes/no, distress); handlers never reach into
the engine itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ivr.events import EventKind, EventSink
from ivr.flow import schema
from ivr.telephony.call import Call, Prompt, QueueTarget, clamp_priority

if TYPE_CHECKING:
    from ivr.recording.api import RecordingControl


class PromptSource(Protocol):
    """Turns words in a language into something the call can play (rendered, on disk)."""

    async def prompt(self, text: str, language: str) -> Prompt: ...


CLAUSE_ENDS = "，。！？；：、"
"""Where a Mandarin answer may be cut into pieces (full-width punctuation)."""
MIN_PIECE = 6
"""Characters a piece needs at least: shorter ones render no faster than their overhead."""


def answer_pieces(text: str, language: str) -> list[str]:
    """A Mandarin answer as (first clause, the rest), each piece keeping its punctuation
    (the renderer leaves a clause's pause after it); any other text whole."""
    if not language.lower().startswith("zh"):
        return [text]
    for at, char in enumerate(text):
        if char in CLAUSE_ENDS and at + 1 >= MIN_PIECE and len(text) - at - 1 >= MIN_PIECE:
            return [text[:at + 1], text[at + 1:]]
    return [text]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How Hotline's part of a call ended."""

    outcome: str
    """``self_served``, ``queued``, ``abandoned`` or ``failed``."""
    queue: str | None = None
    priority: int | None = None
    error_code: str | None = None


@dataclass
class CallState:
    """Per-call variables. Secrets live apart and never reach events."""

    variables: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    pending_key: str | None = None

    @property
    def language(self) -> str:
        return str(self.variables["language"])


@dataclass
class NodeContext:
    """One call as its node handlers see it (built by the engine, one per call)."""

    call: Call
    plan: schema.Dialplan
    state: CallState
    prompts: PromptSource
    events: EventSink
    recording: RecordingControl
    default_queue: str

    @property
    def language(self) -> str:
        return self.state.language

    async def prompt(self, text: dict[str, str], language: str | None = None) -> Prompt:
        """``text`` in ``language`` (default: the caller's), ready to play."""
        lang = language or self.state.language
        return await self.prompts.prompt(text[lang], lang)

    async def say(self, node_id: str, text: dict[str, str] | None, keys: str = "",
                  language: str | None = None) -> str | None:
        """Play ``text`` (nothing when None) with ``keys`` armed; the key that cut it short."""
        if text is None:
            return None
        prompt = await self.prompt(text, language)
        self.events.event(EventKind.PROMPT, node=node_id, text=prompt.text,
                          language=prompt.language)
        played = await self.call.play(prompt, barge_in_keys=keys)
        return played.interrupted_by

    async def say_answer(self, node_id: str, text: str) -> None:
        """Play an answer written for this caller (their balance, their payment), which is
        rendered during the call. A Mandarin one is rendered clause by clause
        (:func:`answer_pieces`): the caller hears the first while the rest renders, instead
        of waiting for the whole sentence (about half a second per second of speech)."""
        pieces = answer_pieces(text, self.state.language)
        if len(pieces) == 1:
            await self.say(node_id, {self.state.language: text})
            return
        rendering = [asyncio.create_task(self.prompts.prompt(piece, self.state.language))
                     for piece in pieces]  # one worker: they render in this order
        try:
            self.events.event(EventKind.PROMPT, node=node_id, text=text,
                              language=self.state.language)
            for task in rendering:
                await self.call.play(await task)
        finally:
            for task in rendering:
                task.cancel()
            await asyncio.gather(*rendering, return_exceptions=True)

    async def ask_once(
        self, node_id: str, prompt_text: dict[str, str], reprompt: dict[str, str] | None,
        keys: str, *, all_languages: bool, max_digits: int, timeout: float, secret: bool = False,
    ) -> tuple[str, bool]:
        """Play (reprompt +) prompt with keys armed; return (digits, timed_out)."""
        pending, self.state.pending_key = self.state.pending_key, None
        if pending is not None and max_digits == 1:
            return pending, False
        key = await self.say(node_id, reprompt, keys)
        if key is not None and max_digits == 1:
            return key, False
        languages = self.plan.languages if all_languages else [self.state.language]
        for language in languages[:-1]:
            key = await self.say(node_id, prompt_text, keys, language)
            if key is not None and max_digits == 1:
                return key, False
        prompt = await self.prompt(prompt_text, languages[-1])
        self.events.event(EventKind.PROMPT, node=node_id, text=prompt.text,
                          language=prompt.language)
        got = await self.call.collect_dtmf(prompt, max_digits=max_digits, timeout=timeout,
                                           secret=secret)
        return got.digits, got.timed_out and not got.digits

    def fallback(self, explicit: str | None) -> str | Outcome:
        """Where a caller goes when a node cannot go on: its fallback, the plan's, or the
        default queue."""
        target = explicit or self.plan.fallback
        if target:
            return target
        return Outcome("queued", self.default_queue, 0)

    def exhausted(self, node_id: str, explicit: str | None) -> str | Outcome:
        """A question ran out of retries: say so, then :meth:`fallback`."""
        self.events.event(EventKind.RETRIES_EXHAUSTED, node=node_id)
        return self.fallback(explicit)

    def retries(self, body: schema.Retries) -> tuple[float, int]:
        """A question's (timeout, retries), the plan's defaults where it sets none."""
        d = self.plan.defaults
        timeout = body.timeout if body.timeout is not None else d.timeout
        retries = body.retries if body.retries is not None else d.retries
        return timeout, retries

    def reprompt(self, body: schema.Retries, kind: str) -> dict[str, str] | None:
        """What to say before asking again after a ``no_input`` or ``no_match``."""
        text: dict[str, str] | None = getattr(body, kind) or getattr(self.plan.defaults, kind)
        return text

    async def transfer(self, node_id: str | None, queue: str, priority: int,
                       **data: Any) -> Outcome:
        """Send the caller to ``queue``; distress boosts add to ``priority`` (clamped)."""
        priority = clamp_priority(priority + int(self.state.variables.get("priority_boost", 0)))
        await self.call.transfer(QueueTarget(queue, priority))
        self.events.event(EventKind.TRANSFER, node=node_id, queue=queue, priority=priority,
                          **data)
        return Outcome("queued", queue, priority)
