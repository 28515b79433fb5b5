"""Loops that never wait for the caller: at run time they end in ``flow-loop``.

Only questions wait for the caller: ``ask``, ``collect`` and an ``action`` with a
``read_back``. Every other node can move on by itself: ``say``, ``set``, ``goto``,
``branch`` and ``hours`` always; ``verify`` too (an already verified caller, an unknown
caller id or a backend that is down skips every question), and so can ``change_phone``
and ``action``. A loop through such moves alone, along any choice a ``branch`` or
``hours`` may make, is an error. ``queue`` and ``hangup`` end the call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ivr.flow import schema


def silent_targets(node: schema.Node, fallback: str | None) -> list[str]:
    """The nodes ``node`` may go to without the caller pressing or saying anything."""
    if node.say is not None or node.set is not None:
        found = [node.next]
    elif node.goto is not None:
        found = [node.goto]
    elif node.branch is not None:
        found = [*node.branch.cases.values(), node.branch.default]
    elif node.hours is not None:
        found = [node.hours.open, node.hours.closed]
    elif node.verify is not None:
        v = node.verify
        found = [v.verified, v.failed, v.locked, v.unavailable]
    elif node.change_phone is not None:
        c = node.change_phone
        found = [c.changed, c.review, c.failed]
    elif node.action is not None:
        found = _action_targets(node.action, fallback)
    else:  # ask and collect wait for the caller; queue and hangup end the call
        found = []
    return [target for target in found if target is not None]


def _action_targets(action: schema.Action, fallback: str | None) -> list[str | None]:
    otherwise = action.failed or fallback
    found = [action.unverified or otherwise] if action.requires != "none" else []
    if action.read_back is not None:
        return found  # everything else comes after the caller's yes or no
    return [*found, action.ok, *action.outcomes.values(), action.unavailable or otherwise,
            otherwise]


def silent_loops(plan: schema.Dialplan) -> list[list[str]]:
    """Each loop of nodes that never waits for the caller, as ``[a, b, …, a]``.

    One loop per strongly connected group of such nodes, starting at the group's first node
    in the file; sorted in file order.
    """
    graph = {node_id: [t for t in silent_targets(node, plan.fallback) if t in plan.nodes]
             for node_id, node in plan.nodes.items()}
    order = {node_id: i for i, node_id in enumerate(plan.nodes)}
    loops = []
    for group in _strongly_connected(graph):
        start = min(group, key=order.__getitem__)
        if len(group) > 1 or start in graph[start]:
            loops.append(_loop_through(graph, set(group), start))
    return sorted(loops, key=lambda loop: order[loop[0]])


def _loop_through(graph: dict[str, list[str]], group: set[str], start: str) -> list[str]:
    """The shortest path from ``start`` back to itself inside ``group``."""
    came_from: dict[str, str] = {}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        for target in graph[node]:
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target in group and target not in came_from:
                came_from[target] = node
                todo.append(target)
    raise AssertionError("a strongly connected group always loops")  # pragma: no cover


def _strongly_connected(graph: dict[str, list[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm without recursion (a dialplan may have thousands of nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    yield group
