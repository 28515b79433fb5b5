"""The flow boundary: one call from connect to outcome, whatever goes wrong in between.

Errors become an event plus a fallback for the caller (an apology and the default queue);
a caller is never dropped silently, and one call's failure never touches another.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ivr.emotion.types import EmotionScorer
from ivr.errors import CallHangup, IvrError
from ivr.events import CallLog, EventKind
from ivr.flow.engine import FlowEngine, Outcome, PromptSource, PublishedPlan
from ivr.flow.voice import VoiceConfig
from ivr.platform.api import Platform
from ivr.recording.api import CallRecording
from ivr.security.api import Verifier
from ivr.telephony.call import Call, QueueInfo, QueueTarget

_LOG = logging.getLogger(__name__)


class CallPrompts(PromptSource, Protocol):
    """One call's prompts: ``release()`` when the call ends."""

    async def release(self) -> None: ...


class PlanLookup(Protocol):
    def get(self, dialplan_id: str) -> PublishedPlan | None: ...


class CallStats(Protocol):
    def call_started(self, transport: str) -> None: ...

    def call_ended(self, transport: str, outcome: str, error_code: str | None) -> None: ...


@dataclass
class CallRunner:
    """Runs calls: picks the dialplan by route, runs it, and always ends with an outcome."""

    plans: PlanLookup
    prompts: PromptSource
    call_log: Callable[[str], CallLog]
    store_healthy: Callable[[], bool]
    stats: CallStats
    default_queue: str
    default_language: str
    apology: dict[str, str]
    recordings: Callable[[Call, CallLog], CallRecording] | None = None
    """Makes each call's recording (None: calls are not recorded)."""
    verifier: Verifier | None = None
    """Caller verification for ``verify`` nodes (None: they route to unavailable/failed)."""
    voice: VoiceConfig | None = None
    """Speech recognition for questions (None: keypad only)."""
    platform: Platform | None = None
    """Self-service backend for ``action`` nodes (None: they go to ``unavailable``)."""
    emotion: EmotionScorer | None = None
    """Distress scoring of caller turns (None: no distress events, no escalation)."""
    queues: QueueInfo | None = None
    """Queue position, wait and callbacks (AMI; None: queue nodes just transfer)."""
    prompt_scope: Callable[[], CallPrompts] | None = None
    """Gives each call its own view of ``prompts``, released when the call ends: what was
    rendered for that call alone (its answers) goes then (None: ``prompts`` itself)."""

    async def __call__(self, call: Call) -> None:
        published = self.plans.get(call.info.route)
        log = self._begin(call, published)
        started = time.perf_counter()
        outcome = await self._run(call, log, published)
        self._end(call, log, outcome, started)

    async def turn_away(self, call: Call, code: str) -> None:
        """A call over the transport's capacity: stored and counted like any other, then sent
        straight to the default queue with ``code`` (no flow, no prompt: the cheap path)."""
        log = self._begin(call, None)
        started = time.perf_counter()
        log.event(EventKind.ERROR, code=code, message="no capacity for another call")
        try:
            outcome = await self._to_default_queue(call, log, code)
        except CallHangup:
            log.event(EventKind.CALLER_HUNG_UP)
            outcome = Outcome("abandoned", error_code=code)
        self._end(call, log, outcome, started)

    def _begin(self, call: Call, published: PublishedPlan | None) -> CallLog:
        info = call.info
        log = self.call_log(info.call_id)
        self.stats.call_started(info.transport)
        log.start(transport=info.transport, route=info.route, channel=info.channel,
                  uniqueid=info.extra.get("uniqueid"), caller=info.caller,
                  caller_name=info.caller_name, dialed=info.dialed, language=info.language,
                  dialplan_id=published.plan.id if published else None,
                  dialplan_version=published.version if published else None)
        return log

    def _end(self, call: Call, log: CallLog, outcome: Outcome, started: float) -> None:
        log.event(EventKind.CALL_ENDED, outcome=outcome.outcome, queue=outcome.queue,
                  error=outcome.error_code, seconds=round(time.perf_counter() - started, 3))
        log.update(ended_at=datetime.now(UTC), outcome=outcome.outcome, queue=outcome.queue,
                   priority=outcome.priority, error_code=outcome.error_code)
        self.stats.call_ended(call.info.transport, outcome.outcome, outcome.error_code)

    async def _run(self, call: Call, log: CallLog, published: PublishedPlan | None) -> Outcome:
        recording = self.recordings(call, log) if self.recordings else None
        prompts = self.prompt_scope() if self.prompt_scope is not None else None
        try:
            return await self._run_recorded(call, log, published, recording,
                                            prompts or self.prompts)
        finally:
            if prompts is not None:
                await prompts.release()
            if recording is not None:
                await recording.finish()

    async def _run_recorded(self, call: Call, log: CallLog, published: PublishedPlan | None,
                            recording: CallRecording | None, prompts: PromptSource) -> Outcome:
        language = self._language(call, published)
        try:
            await call.answer()
            log.update(answered_at=datetime.now(UTC))
            if recording is not None:
                await recording.start()
            if not self.store_healthy():
                return await self._apologise(call, log, language, "store-unavailable",
                                             "the database is down; sending the caller to an agent")
            if published is None:
                return await self._apologise(call, log, language, "agi-unknown-route",
                                             f"no dialplan named {call.info.route!r}")
            engine = FlowEngine(call, published, prompts, log,
                                default_queue=self.default_queue, recording=recording,
                                verifier=self.verifier, voice=self.voice,
                                platform=self.platform, emotion=self.emotion,
                                queues=self.queues)
            outcome = await engine.run()
            if outcome.outcome != "queued":
                await call.set_outcome(outcome.outcome, None)
                await call.hangup()
            else:
                await call.set_outcome("queued", outcome.queue)
            return outcome
        except CallHangup:
            log.event(EventKind.CALLER_HUNG_UP)
            await self._tell_transport(call, "abandoned")
            return Outcome("abandoned")
        except IvrError as err:
            return await self._apologise(call, log, language, err.code, err.message)
        except Exception as err:  # a bug must not drop the caller either
            _LOG.exception("flow-internal: unexpected error")
            return await self._apologise(call, log, language, "flow-internal", repr(err))

    def _language(self, call: Call, published: PublishedPlan | None) -> str:
        langs = published.plan.languages if published else list(self.apology)
        if call.info.language in langs:
            return str(call.info.language)
        return langs[0] if langs else self.default_language

    async def _apologise(self, call: Call, log: CallLog, language: str, code: str,
                         message: str) -> Outcome:
        """Say sorry and hand the caller to the default queue, as far as the channel allows."""
        _LOG.error("%s: %s", code, message)
        log.event(EventKind.ERROR, code=code, message=message[:500])
        try:
            text = self.apology.get(language) or next(iter(self.apology.values()))
            try:
                prompt = await self.prompts.prompt(text, language)
                await call.play(prompt)
            except CallHangup:
                raise
            except IvrError as err:
                _LOG.warning("%s: could not play the apology: %s", err.code, err.message)
            return await self._to_default_queue(call, log, code)
        except CallHangup:
            # The channel went away while we apologised: Asterisk's dialplan (AGISTATUS)
            # takes it from here; for us the call failed.
            log.event(EventKind.CHANNEL_GONE)
            return Outcome("failed", error_code=code)

    async def _to_default_queue(self, call: Call, log: CallLog, code: str) -> Outcome:
        """Hand the caller to the default queue (CallHangup if the channel is gone)."""
        try:
            await call.transfer(QueueTarget(self.default_queue, 0))
            await call.set_outcome("queued", self.default_queue)
        except CallHangup:
            raise
        except IvrError as err:
            _LOG.error("%s: could not transfer after %s: %s", err.code, code, err.message)
            return Outcome("failed", error_code=code)
        log.event(EventKind.TRANSFER, queue=self.default_queue, priority=0, reason=code)
        return Outcome("queued", self.default_queue, 0, error_code=code)

    async def _tell_transport(self, call: Call, outcome: str) -> None:
        try:
            await call.set_outcome(outcome, None)
        except IvrError:
            pass
