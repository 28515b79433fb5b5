"""Distress routing: caller turns in, ``distress`` and ``escalation`` events out.

Voice turns (with a transcript; audio when the transport gave it) and keypad choices that
go to an agent are collected while a node runs and scored when it hands over to the next
one, so scoring never delays the caller's answer. A call escalates once, on any turn: when
the caller's route already ends in a queue (or is a kept ``card_lost``/``fraud_report``
route) ``priority_boost`` rises by the policy's ``boost`` (added to the queue transfer's
priority); any other caller goes to the policy's queue (``senior_agents``) at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.emotion.policy import DEFAULT_POLICY, KEPT_INTENTS, EscalationPolicy
from ivr.emotion.tracker import DistressTracker
from ivr.emotion.types import EmotionScorer, TurnInput
from ivr.events import EventKind
from ivr.flow.context import NodeContext, Outcome
from ivr.flow.routes import kept_routes, queue_at_end

if TYPE_CHECKING:
    from ivr.speech.listening import Heard


class CallDistress:
    """Distress scoring and escalation for one call."""

    def __init__(self, ctx: NodeContext, scorer: EmotionScorer) -> None:
        self.ctx = ctx
        self.tracker = DistressTracker(scorer)
        self.pending: list[tuple[str, TurnInput]] = []
        self.kept = kept_routes(ctx.plan, KEPT_INTENTS)

    def policy(self, node_id: str) -> EscalationPolicy:
        node = self.ctx.plan.nodes.get(node_id)
        body = (node.escalate if node is not None else None) or self.ctx.plan.escalate
        if body is None:
            return DEFAULT_POLICY
        return EscalationPolicy(above=body.above, rolling_above=body.rolling_above,
                                min_confidence=body.min_confidence, boost=body.boost,
                                queue=body.queue, enabled=body.enabled)

    def caller_turn(self, node_id: str, heard: Heard, choice: str | None = None) -> None:
        """A voice question's answer (called for every ``turn`` event)."""
        if heard.mode == "dtmf":
            if choice is not None:
                self.keypad_choice(node_id, choice)
            return
        t = heard.transcript
        if heard.mode == "speech" and t is not None and not t.empty:
            self.pending.append((node_id, TurnInput(self.ctx.language, t.text, heard.audio)))

    def keypad_choice(self, node_id: str, target: str) -> None:
        """A key chose ``target``; a key that goes to an agent queue is an agent request."""
        node = self.ctx.plan.nodes.get(target)
        if node is not None and node.queue is not None:
            self.tracker.keypad_agent_request()
            self.pending.append((node_id, TurnInput(self.ctx.language)))

    async def settle(self, result: str | Outcome) -> str | Outcome:
        """Score the node's pending turns; an escalation may transfer the caller now."""
        pending, self.pending = self.pending, []
        escalated: EscalationPolicy | None = None
        for node_id, turn in pending:
            policy = self.policy(node_id)
            scored = await self.tracker.observe(turn, policy)
            d = scored.distress
            self.ctx.events.event(
                EventKind.DISTRESS, node=node_id, score=d.score, confidence=d.confidence,
                rolling=None if scored.rolling is None else round(scored.rolling, 3),
                signals=d.signals, reasons=list(d.reasons))
            if scored.escalate:
                self._escalate(node_id, policy, scored.escalate, result)
                escalated = policy
        if escalated is None:
            return result
        if isinstance(result, str) and self._to_senior(result):
            return await self.ctx.transfer(None, escalated.queue, escalated.boost,
                                           escalated=True)
        if isinstance(result, Outcome) and result.outcome == "queued":
            # A question's fallback to the default queue is not transferred yet (queue
            # nodes, which are, have no caller turns): transfer it so the boost applies.
            return await self.ctx.transfer(None, result.queue or self.ctx.default_queue,
                                           result.priority or 0, escalated=True)
        return result

    def _to_senior(self, target: str) -> bool:
        """The caller's next node is on no kept route and leads to no queue."""
        return target not in self.kept and queue_at_end(self.ctx.plan, target) is None

    def _escalate(self, node_id: str, policy: EscalationPolicy, reasons: list[str],
                  result: str | Outcome) -> None:
        """Report the escalation; a caller who stays on their route gets the boost."""
        data: dict[str, Any] = {"reasons": list(reasons)}
        if isinstance(result, str):
            data["route"] = result
            if result in self.kept:
                data["reasons"].append(f"kept the {self.kept[result]} route")
        if isinstance(result, str) and self._to_senior(result):
            data.update(action="queue", queue=policy.queue)
        else:
            variables = self.ctx.state.variables
            variables["priority_boost"] = int(variables.get("priority_boost", 0)) + policy.boost
            data.update(action="priority", boost=policy.boost)
        self.ctx.events.event(EventKind.ESCALATION, node=node_id, **data)
