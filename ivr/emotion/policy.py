"""The escalation rule: when a caller's distress is enough to reach a person sooner.

Default: one turn scoring ≥ 0.7 with enough confidence, or the mean of the last two
confident turns ≥ 0.6. A call escalates once, on whichever turn first crosses the rule; the
flow then raises the priority of a route that already ends in a queue, or sends the caller
to ``queue``, and never overrides the routes of :data:`KEPT_INTENTS`. Pure: scores in, a
decision out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ivr.emotion.types import Distress


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """When to escalate and what to do (the dialplan's ``escalate:`` block)."""

    above: float = 0.7
    """One turn at or above this (with ``min_confidence``) escalates."""
    rolling_above: float = 0.6
    """The mean of the last ``window`` confident turns at or above this escalates."""
    window: int = 2
    min_confidence: float = 0.5
    boost: int = 3
    """A caller whose route already ends in a queue: added to that transfer's priority."""
    queue: str = "senior_agents"
    """Any other caller: sent to this queue at once."""
    enabled: bool = True


DEFAULT_POLICY = EscalationPolicy()
KEPT_INTENTS = ("card_lost", "fraud_report")
"""Intents whose routes an escalation never overrides (it may still raise their priority):
blocking a card or reaching the fraud desk matters more than a senior agent."""


def rolling(history: Sequence[Distress], window: int = 2, min_confidence: float = 0.5
            ) -> float | None:
    """Mean score of the last ``window`` turns confident enough to count; None if fewer."""
    counted = [d.score for d in history if d.confidence >= min_confidence][-window:]
    return sum(counted) / len(counted) if len(counted) == window else None


def decide(policy: EscalationPolicy, history: Sequence[Distress]) -> list[str]:
    """Why the latest turn (``history[-1]``) escalates; empty when it does not."""
    if not policy.enabled or not history:
        return []
    last = history[-1]
    why: list[str] = []
    if last.confidence >= policy.min_confidence and last.score >= policy.above:
        why.append(f"turn score {last.score:.2f} ≥ {policy.above:.2f}")
    if last.confidence >= policy.min_confidence:
        mean = rolling(history, policy.window, policy.min_confidence)
        if mean is not None and mean >= policy.rolling_above:
            why.append(f"rolling score {mean:.2f} over {policy.window} turns "
                       f"≥ {policy.rolling_above:.2f}")
    return why + list(last.reasons) if why else []
