"""One call's distress: scores each caller turn (off the loop), keeps the rolling score and
decides escalation under the policy in force at the turn's node."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from ivr.emotion import words
from ivr.emotion.policy import EscalationPolicy, decide, rolling
from ivr.emotion.types import NO_EVIDENCE, Distress, EmotionScorer, Prosody, TurnInput

_LOG = logging.getLogger(__name__)
SCORE_TIMEOUT = 2.0
"""A turn not scored in time counts as no evidence: the call never waits on the scorer."""


@dataclass
class Scored:
    """One turn's result as the engine reports it."""

    distress: Distress
    rolling: float | None
    escalate: list[str]
    """Reasons, when this turn escalates the call (only the first escalation counts)."""


@dataclass
class DistressTracker:
    """Per call: the caller's earlier prosody, agent requests and scores."""

    scorer: EmotionScorer
    history: list[Distress] = field(default_factory=list)
    earlier: list[Prosody] = field(default_factory=list)
    agent_requests: int = 0
    escalated: bool = False

    async def observe(self, turn: TurnInput, policy: EscalationPolicy) -> Scored:
        """Score ``turn`` (its ``agent_requests`` is filled in here) and decide escalation."""
        turn = TurnInput(turn.language, turn.text, turn.audio, self.agent_requests)
        try:
            async with asyncio.timeout(SCORE_TIMEOUT):
                distress = await asyncio.to_thread(self.scorer.score, turn, tuple(self.earlier))
        except TimeoutError:
            _LOG.warning("emotion-timeout: turn not scored within %ss", SCORE_TIMEOUT)
            distress = NO_EVIDENCE
        except Exception:  # a broken scorer must never break the call
            _LOG.exception("emotion-scorer-failed")
            distress = NO_EVIDENCE
        if turn.text:
            self.agent_requests += words.agent_mentions(turn.text, turn.language)
        if distress.prosody is not None and distress.score < policy.above:
            self.earlier.append(distress.prosody)  # the baseline is the caller's calmer turns
            del self.earlier[:-5]
        self.history.append(distress)
        reasons = [] if self.escalated else decide(policy, self.history)
        self.escalated = self.escalated or bool(reasons)
        return Scored(distress, rolling(self.history, policy.window, policy.min_confidence),
                      reasons)

    def keypad_agent_request(self) -> None:
        """The caller pressed a key that goes to an agent."""
        self.agent_requests += 1
