"""Risk rules for sensitive changes: pure functions of facts, no I/O and no clock.

Rules are data (``SecuritySettings.risk_rules``); each has an id, and a decision lists the
ids that fired with their reasons. Any rule firing sends the change to human review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ivr.security.settings import RiskRule


@dataclass(frozen=True, slots=True)
class RiskFacts:
    """What the rules look at, gathered by the service before deciding."""

    now: datetime
    last_change: datetime | None
    """When the registered phone was last changed (applied)."""
    attempts: list[datetime]
    """Earlier attempts at this action (any outcome)."""
    caller_matches: bool
    """The call comes from the registered phone (a withheld caller id does not)."""
    last_lockout: datetime | None


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """Allowed in self-service, or review with the rules that fired."""

    action: str
    fired: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def review(self) -> bool:
        return bool(self.fired)


def _fires(rule: RiskRule, facts: RiskFacts) -> bool:
    if rule.kind == "recent_change":
        return facts.last_change is not None and (
            facts.now - facts.last_change < timedelta(days=rule.days))
    if rule.kind == "attempts":
        since = facts.now - timedelta(hours=rule.hours)
        return sum(1 for at in facts.attempts if at >= since) > rule.max
    if rule.kind == "caller_mismatch":
        return not facts.caller_matches
    if rule.kind == "recent_lockout":
        return facts.last_lockout is not None and (
            facts.now - facts.last_lockout < timedelta(hours=rule.hours))
    raise ValueError(f"unknown risk rule kind {rule.kind!r}")


def evaluate(action: str, rules: list[RiskRule], facts: RiskFacts) -> RiskDecision:
    """Run every rule for ``action``; the decision names each one that fired."""
    fired = [rule for rule in rules if rule.action == action and _fires(rule, facts)]
    return RiskDecision(action, tuple(r.id for r in fired), tuple(r.reason for r in fired))
