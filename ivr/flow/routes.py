"""Where a caller's route goes from a node, read from the dialplan alone (no call, no clock).

Distress escalation asks two things of a route: does it already end in a queue without
asking the caller anything more (then its priority rises), and is it one of the routes an
escalation must never override (``card_lost``, ``fraud_report``: then it stays).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ivr.flow import schema

_PASSING = ("say", "set", "goto", "hours", "branch")
"""Kinds that move the caller on without asking anything."""


def _onward(node: schema.Node) -> list[str]:
    """Where a node that asks nothing goes next. Hours: the open branch only, the one with
    agents; a branch: every case (all of them must end in a queue)."""
    if node.hours is not None:
        return [node.hours.open]
    if node.branch is not None:
        return [*node.branch.cases.values(), node.branch.default]
    target = node.goto or node.next
    return [target] if target else []


def queue_at_end(plan: schema.Dialplan, node_id: str) -> str | None:
    """The queue node that ``node_id`` leads to without another question, else None."""
    seen: set[str] = set()

    def walk(current: str) -> str | None:
        node = plan.nodes.get(current)
        if node is None or current in seen:
            return None
        seen.add(current)
        if node.queue is not None:
            return current
        if node.kind not in _PASSING:
            return None
        found = [walk(target) for target in _onward(node)]
        return found[0] if found and all(found) else None

    return walk(node_id)


def _route_targets(node: schema.Node) -> list[str]:
    """Where a step of a kept route may lead while it is still that route (no new menu)."""
    if node.kind in _PASSING:
        return _onward(node)
    body = node.verify or node.action or node.change_phone
    if body is None:
        return []
    names = ("verified", "failed", "locked", "unavailable", "ok", "declined", "unverified",
             "changed", "review")
    found = [getattr(body, name, None) for name in names]
    if node.action is not None:
        found += list(node.action.outcomes.values())
    return [t for t in found if t]


_KEPT: dict[int, tuple[schema.Dialplan, tuple[str, ...], Mapping[str, str]]] = {}
_KEPT_PLANS = 32
"""Dialplans whose kept routes are remembered (a plan is frozen: its routes never change)."""


def kept_routes(plan: schema.Dialplan, intents: tuple[str, ...]) -> Mapping[str, str]:
    """Node id → intent, for every node on a route that ``intents`` start: the intent's
    target in every question, then the steps that follow up to the next question the
    caller is asked (so ``card_lost`` keeps its verification, its block and its card
    queue). Worked out once per plan, not once per call."""
    known = _KEPT.get(id(plan))
    if known is not None and known[0] is plan and known[1] == intents:
        return known[2]
    kept = MappingProxyType(_kept_routes(plan, intents))
    if len(_KEPT) >= _KEPT_PLANS:
        del _KEPT[next(iter(_KEPT))]
    _KEPT[id(plan)] = (plan, intents, kept)
    return kept


def _kept_routes(plan: schema.Dialplan, intents: tuple[str, ...]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for node in plan.nodes.values():
        if node.ask is None:
            continue
        for intent, target in node.ask.intents.items():
            if intent in intents:
                todo = [target]
                while todo:
                    current = todo.pop()
                    step = plan.nodes.get(current)
                    if step is None or current in kept:
                        continue
                    if current != target and step.kind in ("ask", "collect"):
                        continue  # a new question: the kept route ends before it
                    kept[current] = intent
                    todo += _route_targets(step)
    return kept
