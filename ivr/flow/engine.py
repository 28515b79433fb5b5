"""The flow engine: runs one published dialplan version on one call, node by node.

It knows only the Call protocol, a prompt source and an event sink; which transport, store or
TTS engine sits behind them is wired in ``ivr.app``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ivr.emotion.flow import CallDistress
from ivr.emotion.types import EmotionScorer
from ivr.errors import IvrError
from ivr.flow import schema
from ivr.flow.action import run_action
from ivr.flow.hours import Schedule, compile_schedule
from ivr.flow.verify import run_change_phone, run_verify
from ivr.flow.voice import VoiceConfig, VoiceQuestions
from ivr.platform.api import Platform
from ivr.recording.api import RecordingControl
from ivr.security.api import Verifier
from ivr.telephony.call import Call, Prompt, QueueTarget

_LOG = logging.getLogger(__name__)
MAX_STEPS = 500
"""A dialplan that loops without asking the caller anything is stopped after this many nodes."""


class PromptSource(Protocol):
    """Turns words in a language into something the call can play (rendered, on disk)."""

    async def prompt(self, text: str, language: str) -> Prompt: ...


class NoRecording:
    """For calls that are not recorded."""

    @contextlib.asynccontextmanager
    async def paused(self, node: str) -> AsyncIterator[None]:
        yield


class EventSink(Protocol):
    """Where the engine reports what happened (the store, a test list, …)."""

    def event(self, kind: str, node: str | None = None, **data: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How Hotline's part of a call ended."""

    outcome: str
    """``self_served``, ``queued``, ``abandoned`` or ``failed``."""
    queue: str | None = None
    priority: int | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class PublishedPlan:
    """A dialplan version ready to run (schedules compiled once)."""

    plan: schema.Dialplan
    version: int
    schedules: dict[str, Schedule]

    @classmethod
    def compile(cls, plan: schema.Dialplan, version: int) -> PublishedPlan:
        schedules = {
            node_id: compile_schedule(n.hours.timezone, n.hours.weekly, n.hours.holidays)
            for node_id, n in plan.nodes.items()
            if n.hours is not None
        }
        return cls(plan, version, schedules)


@dataclass
class CallState:
    """Per-call variables. Secrets live apart and never reach events."""

    variables: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    pending_key: str | None = None

    @property
    def language(self) -> str:
        return str(self.variables["language"])


class FlowEngine:
    """Runs one dialplan version on one call."""

    def __init__(
        self,
        call: Call,
        published: PublishedPlan,
        prompts: PromptSource,
        events: EventSink,
        *,
        default_queue: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        recording: RecordingControl | None = None,
        verifier: Verifier | None = None,
        voice: VoiceConfig | None = None,
        platform: Platform | None = None,
        emotion: EmotionScorer | None = None,
    ) -> None:
        self.call = call
        self.platform = platform
        self.voice = VoiceQuestions(self, voice) if voice is not None else None
        self.verifier = verifier
        self.recording = recording or NoRecording()
        self.published = published
        self.plan = published.plan
        self.prompts = prompts
        self.events = events
        self.default_queue = default_queue
        self.clock = clock
        self.distress = CallDistress(self, emotion) if emotion is not None else None
        info = call.info
        language = info.language if info.language in self.plan.languages else self.plan.languages[0]
        self.state = CallState(
            variables={
                "language": language,
                "caller": info.caller or "",
                "dialed": info.dialed or "",
                "call_id": info.call_id,
            }
        )

    async def run(self) -> Outcome:
        """Walk the graph from ``start`` until a queue or hang-up node ends the call."""
        node_id: str = self.plan.start
        for _ in range(MAX_STEPS):
            node = self.plan.nodes[node_id]
            self.events.event("node_entered", node=node_id, node_kind=node.kind)
            handler = getattr(self, f"_on_{node.kind}")
            result: str | Outcome = await handler(node_id, node)
            if self.distress is not None:  # score the node's caller turns; may escalate
                result = await self.distress.settle(result)
            if isinstance(result, Outcome):
                return result
            node_id = result
        raise IvrError("flow-loop", f"more than {MAX_STEPS} nodes without ending the call")

    # Helpers ---------------------------------------------------------------
    async def _prompt(self, text: dict[str, str], language: str | None = None) -> Prompt:
        return await self.prompts.prompt(text[language or self.state.language], language
                                         or self.state.language)

    async def _say(self, node_id: str, text: dict[str, str] | None, keys: str = "",
                   language: str | None = None) -> str | None:
        if text is None:
            return None
        prompt = await self._prompt(text, language)
        self.events.event("prompt", node=node_id, text=prompt.text, language=prompt.language)
        played = await self.call.play(prompt, barge_in_keys=keys)
        return played.interrupted_by

    def _fallback(self, explicit: str | None) -> str | Outcome:
        target = explicit or self.plan.fallback
        if target:
            return target
        return Outcome("queued", self.default_queue, 0)

    async def _ask_once(
        self, node_id: str, prompt_text: dict[str, str], reprompt: dict[str, str] | None,
        keys: str, *, all_languages: bool, max_digits: int, timeout: float, secret: bool = False,
    ) -> tuple[str, bool]:
        """Play (reprompt +) prompt with keys armed; return (digits, timed_out)."""
        pending, self.state.pending_key = self.state.pending_key, None
        if pending is not None and max_digits == 1:
            return pending, False
        key = await self._say(node_id, reprompt, keys)
        if key is not None and max_digits == 1:
            return key, False
        languages = self.plan.languages if all_languages else [self.state.language]
        for language in languages[:-1]:
            key = await self._say(node_id, prompt_text, keys, language)
            if key is not None and max_digits == 1:
                return key, False
        prompt = await self._prompt(prompt_text, languages[-1])
        self.events.event("prompt", node=node_id, text=prompt.text, language=prompt.language)
        got = await self.call.collect_dtmf(prompt, max_digits=max_digits, timeout=timeout,
                                           secret=secret)
        return got.digits, got.timed_out and not got.digits

    def _retry_settings(self, body: schema.Retries) -> tuple[float, int]:
        d = self.plan.defaults
        timeout = body.timeout if body.timeout is not None else d.timeout
        retries = body.retries if body.retries is not None else d.retries
        return timeout, retries

    # Node handlers ---------------------------------------------------------
    async def _on_say(self, node_id: str, node: schema.Node) -> str:
        assert node.say is not None and node.next is not None
        key = await self._say(node_id, node.say, "0123456789*#" if node.barge_in else "")
        if key is not None:
            self.state.pending_key = key
        return node.next

    async def _on_ask(self, node_id: str, node: schema.Node) -> str | Outcome:
        ask = node.ask
        assert ask is not None
        if self.voice is not None and (heard := await self.voice.on_ask(node_id, node)):
            return heard
        timeout, retries = self._retry_settings(ask)
        keys = "".join(ask.dtmf)
        reprompt: dict[str, str] | None = None
        question = ask.prompt
        for attempt in range(retries + 1):
            digits, no_input = await self._ask_once(
                node_id, question, reprompt, keys, all_languages=ask.all_languages,
                max_digits=1, timeout=timeout,
            )
            if digits in ask.dtmf:
                self.events.event("dtmf", node=node_id, digits=digits, attempt=attempt + 1)
                if self.distress is not None:
                    self.distress.keypad_choice(node_id, ask.dtmf[digits])
                return ask.dtmf[digits]
            kind = "no_input" if no_input else "no_match"
            self.events.event(kind, node=node_id, attempt=attempt + 1,
                              **({} if no_input else {"digits": digits}))
            reprompt = getattr(ask, kind) or getattr(self.plan.defaults, kind)
            question = ask.reprompt or ask.prompt
        self.events.event("retries_exhausted", node=node_id)
        return self._fallback(ask.fallback)

    async def _on_collect(self, node_id: str, node: schema.Node) -> str | Outcome:
        col = node.collect
        assert col is not None and node.next is not None
        if self.voice is not None and (heard := await self.voice.on_collect(node_id, node)):
            return heard
        timeout, retries = self._retry_settings(col)
        reprompt: dict[str, str] | None = None
        question = col.prompt
        for attempt in range(retries + 1):
            # Secrets never reach the recording: it is paused while they are keyed in.
            pause = self.recording.paused(node_id) if col.secret else contextlib.nullcontext()
            async with pause:
                digits, no_input = await self._ask_once(
                    node_id, question, reprompt, "", all_languages=False,
                    max_digits=col.max_length, timeout=timeout, secret=col.secret,
                )
            valid = col.min_length <= len(digits) <= col.max_length and (
                col.pattern is None or re.fullmatch(col.pattern, digits) is not None
            )
            shown: dict[str, Any] = {"secret": True} if col.secret else {"digits": digits}
            if valid:
                if col.secret:
                    self.state.secrets[col.into] = digits
                else:
                    self.state.variables[col.into] = digits
                self.events.event("collected", node=node_id, var=col.into, **shown)
                return node.next
            kind = "no_input" if no_input else "no_match"
            self.events.event(kind, node=node_id, attempt=attempt + 1,
                              **({} if no_input else shown))
            reprompt = getattr(col, kind) or getattr(self.plan.defaults, kind)
            question = col.reprompt or col.prompt
        self.events.event("retries_exhausted", node=node_id)
        return self._fallback(col.fallback)

    async def _on_branch(self, node_id: str, node: schema.Node) -> str:
        branch = node.branch
        assert branch is not None
        value = self.state.variables.get(branch.var)
        target = branch.cases.get(str(value), branch.default) if value is not None else branch.default
        self.events.event("branch", node=node_id, var=branch.var, target=target)
        return target

    async def _on_hours(self, node_id: str, node: schema.Node) -> str:
        assert node.hours is not None
        is_open = self.published.schedules[node_id].is_open(self.clock())
        self.events.event("hours", node=node_id, open=is_open)
        return node.hours.open if is_open else node.hours.closed

    async def _on_set(self, node_id: str, node: schema.Node) -> str:
        assert node.set is not None and node.next is not None
        self.state.variables.update(node.set)
        self.events.event("set", node=node_id, values=dict(node.set))
        return node.next

    async def _on_goto(self, node_id: str, node: schema.Node) -> str:
        assert node.goto is not None
        return node.goto

    async def _on_queue(self, node_id: str, node: schema.Node) -> Outcome:
        queue = node.queue
        assert queue is not None
        if queue.prompt is not None:
            await self._say(node_id, queue.prompt)
        priority = max(0, min(10, queue.priority + int(self.state.variables.get("priority_boost", 0))))
        await self.call.transfer(QueueTarget(queue.name, priority))
        self.events.event("transfer", node=node_id, queue=queue.name, priority=priority)
        return Outcome("queued", queue.name, priority)

    async def _on_verify(self, node_id: str, node: schema.Node) -> str:
        assert node.verify is not None
        return await run_verify(self, node_id, node.verify)

    async def _on_change_phone(self, node_id: str, node: schema.Node) -> str | Outcome:
        assert node.change_phone is not None
        return await run_change_phone(self, node_id, node.change_phone)

    async def _on_action(self, node_id: str, node: schema.Node) -> str | Outcome:
        assert node.action is not None
        return await run_action(self, node_id, node.action, self.platform)

    async def _on_hangup(self, node_id: str, node: schema.Node) -> Outcome:
        hangup = node.hangup
        assert hangup is not None
        if hangup.prompt is not None:
            await self._say(node_id, hangup.prompt)
        self.events.event("hangup", node=node_id, outcome=hangup.outcome)
        return Outcome(hangup.outcome)
