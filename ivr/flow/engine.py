"""The flow engine: runs one published dialplan version on one call, node by node.

It knows only the Call protocol, a prompt source and an event sink; which transport, store or
TTS engine sits behind them is wired in ``ivr.app``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr.emotion.types import EmotionScorer
from ivr.errors import IvrError
from ivr.events import EventKind, EventSink
from ivr.flow import schema
from ivr.flow.action import run_action
from ivr.flow.context import CallState, NodeContext, Outcome, PromptSource
from ivr.flow.distress import CallDistress
from ivr.flow.hours import Schedule, compile_schedule
from ivr.flow.keypad import ask_keys, collect_keys
from ivr.flow.queue_wait import before_transfer
from ivr.flow.survey import run_survey
from ivr.flow.verify import run_change_phone, run_verify
from ivr.flow.voice import VoiceConfig, VoiceQuestions
from ivr.platform.api import Platform
from ivr.recording.api import RecordingControl
from ivr.security.api import Verifier
from ivr.telephony.call import Call, QueueInfo

_LOG = logging.getLogger(__name__)
MAX_STEPS = 500
"""A dialplan that loops without asking the caller anything is stopped after this many nodes."""


class NoRecording:
    """For calls that are not recorded."""

    @contextlib.asynccontextmanager
    async def paused(self, node: str) -> AsyncIterator[None]:
        yield


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
        queues: QueueInfo | None = None,
    ) -> None:
        self.call = call
        self.queues = queues
        self.voice_config = voice
        self.platform = platform
        self.verifier = verifier
        self.published = published
        self.plan = published.plan
        self.events = events
        self.clock = clock
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
        self.context = NodeContext(call, self.plan, self.state, prompts, events,
                                   recording or NoRecording(), default_queue)
        self.distress = CallDistress(self.context, emotion) if emotion is not None else None
        self.voice = (VoiceQuestions(self.context, voice, self.distress)
                      if voice is not None else None)

    async def run(self) -> Outcome:
        """Walk the graph from ``start`` until a queue or hang-up node ends the call."""
        node_id: str = self.plan.start
        for _ in range(MAX_STEPS):
            node = self.plan.nodes[node_id]
            self.events.event(EventKind.NODE_ENTERED, node=node_id, node_kind=node.kind)
            handler = getattr(self, f"_on_{node.kind}")
            result: str | Outcome = await handler(node_id, node)
            if self.distress is not None:  # score the node's caller turns; may escalate
                result = await self.distress.settle(result)
            if isinstance(result, Outcome):
                return result
            node_id = result
        raise IvrError("flow-loop", f"more than {MAX_STEPS} nodes without ending the call")

    # Node handlers ---------------------------------------------------------
    async def _on_say(self, node_id: str, node: schema.Node) -> str:
        assert node.say is not None and node.next is not None
        key = await self.context.say(node_id, node.say, "0123456789*#" if node.barge_in else "")
        if key is not None:
            self.state.pending_key = key
        return node.next

    async def _on_ask(self, node_id: str, node: schema.Node) -> str | Outcome:
        ask = node.ask
        assert ask is not None
        if self.voice is not None and (heard := await self.voice.on_ask(node_id, node)):
            return heard
        timeout, retries = self.context.retries(ask)
        target = await ask_keys(self.context, node_id, ask, range(1, retries + 2), timeout=timeout)
        if target is None:
            return self.context.exhausted(node_id, ask.fallback)
        if self.distress is not None:
            self.distress.keypad_choice(node_id, target)
        return target

    async def _on_collect(self, node_id: str, node: schema.Node) -> str | Outcome:
        col = node.collect
        assert col is not None and node.next is not None
        if self.voice is not None and (heard := await self.voice.on_collect(node_id, node)):
            return heard
        timeout, retries = self.context.retries(col)
        digits = await collect_keys(self.context, node_id, col, range(1, retries + 2),
                                    timeout=timeout)
        if digits is None:
            return self.context.exhausted(node_id, col.fallback)
        if col.secret:
            self.state.secrets[col.into] = digits
            self.events.event(EventKind.COLLECTED, node=node_id, var=col.into, secret=True)
        else:
            self.state.variables[col.into] = digits
            self.events.event(EventKind.COLLECTED, node=node_id, var=col.into, digits=digits)
        return node.next

    async def _on_branch(self, node_id: str, node: schema.Node) -> str:
        branch = node.branch
        assert branch is not None
        value = self.state.variables.get(branch.var)
        target = branch.cases.get(str(value), branch.default) if value is not None else branch.default
        self.events.event(EventKind.BRANCH, node=node_id, var=branch.var, target=target)
        return target

    async def _on_hours(self, node_id: str, node: schema.Node) -> str:
        assert node.hours is not None
        is_open = self.published.schedules[node_id].is_open(self.clock())
        self.events.event(EventKind.HOURS, node=node_id, open=is_open)
        return node.hours.open if is_open else node.hours.closed

    async def _on_set(self, node_id: str, node: schema.Node) -> str:
        assert node.set is not None and node.next is not None
        self.state.variables.update(node.set)
        self.events.event(EventKind.SET, node=node_id, values=dict(node.set))
        return node.next

    async def _on_goto(self, node_id: str, node: schema.Node) -> str:
        assert node.goto is not None
        return node.goto

    async def _on_queue(self, node_id: str, node: schema.Node) -> Outcome:
        queue = node.queue
        assert queue is not None
        if queue.prompt is not None:
            await self.context.say(node_id, queue.prompt)
        booked = await before_transfer(self.context, node_id, queue, self.queues,
                                       self.voice_config)
        if booked is not None:
            return booked
        return await self.context.transfer(node_id, queue.name, queue.priority)

    async def _on_verify(self, node_id: str, node: schema.Node) -> str:
        assert node.verify is not None
        return await run_verify(self.context, node_id, node.verify, self.verifier)

    async def _on_change_phone(self, node_id: str, node: schema.Node) -> str | Outcome:
        assert node.change_phone is not None
        return await run_change_phone(self.context, node_id, node.change_phone, self.verifier)

    async def _on_action(self, node_id: str, node: schema.Node) -> str | Outcome:
        assert node.action is not None
        voice = self.voice.config if self.voice is not None else None
        return await run_action(self.context, node_id, node.action, self.platform, voice)

    async def _on_survey(self, node_id: str, node: schema.Node) -> str:
        assert node.survey is not None
        voice = self.voice.config if self.voice is not None else None
        return await run_survey(self.context, node_id, node.survey, voice)

    async def _on_hangup(self, node_id: str, node: schema.Node) -> Outcome:
        hangup = node.hangup
        assert hangup is not None
        if hangup.prompt is not None:
            await self.context.say(node_id, hangup.prompt)
        self.events.event(EventKind.HANGUP, node=node_id, outcome=hangup.outcome)
        return Outcome(hangup.outcome)
