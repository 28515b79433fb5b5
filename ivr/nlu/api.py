"""The understanding face: what the flow knows of NLU (types only).

The flow asks an :class:`Understander` which of a question's choices a transcript means;
``ivr.app`` wires the intent model (:mod:`ivr.nlu.understander`) or the plain phrase
matcher (:mod:`ivr.nlu.phrases`) behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

INTENT_IDS = ("payment_status", "refund", "fees", "card_lost", "fraud_report", "change_phone",
              "account_access", "balance", "complaint", "agent")
"""The intents an open question can route (``unknown`` is never routed: it is a no-match)."""

DEFAULT_BANDS = (0.4, 0.75)
"""(reject_below, confirm_below) of open questions when no intent model gives its own."""


def bands_with(base: tuple[float, float], reject_below: float | None = None,
               confirm_below: float | None = None) -> tuple[float, float]:
    """An open question's (reject_below, confirm_below): ``base`` with the overrides given on
    top (the operator's per language, then the question's own); confirming never starts
    below rejecting. Every layer of intent thresholds goes through here."""
    reject = base[0] if reject_below is None else reject_below
    confirm = base[1] if confirm_below is None else confirm_below
    return reject, max(reject, confirm)


@dataclass(frozen=True, slots=True)
class Match:
    """The choice a transcript was understood as, and how sure we are (0..1)."""

    choice: str
    score: float
    entities: Mapping[str, str] = field(default_factory=dict)
    """What else the caller said (transaction id, amount, date…), when the understander knows."""


class Understander(Protocol):
    def match(self, text: str, choices: Mapping[str, Sequence[str]], language: str,
              keys: Mapping[str, str] | None = None) -> Match | None:
        """``choices`` maps a choice (a node id) to its phrases; ``keys`` maps keypad keys to
        choices so "press one" works by voice."""
        ...
