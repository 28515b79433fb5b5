"""Load and check dialplans: every problem reported as ``FILE:LINE: message``."""

from __future__ import annotations

import difflib
import hashlib
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ivr.flow import safe_yaml, schema
from ivr.flow.cycles import silent_loops
from ivr.flow.hours import compile_schedule
from ivr.flow.safe_yaml import DialplanLimits, YamlDoc

_LOG = logging.getLogger(__name__)
Path_ = tuple[str, ...]
RESERVED_VARS = {"language", "caller", "dialed", "call_id", "verified_level", "customer_id",
                 "verified_has_pin"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a dialplan, where it is, and a hint."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoadedDialplan:
    """A dialplan that passed every check, with the text it came from."""

    plan: schema.Dialplan
    source: str
    sha256: str


class _Tree:
    """YAML turned into plain data within the limits, remembering the line of every path."""

    def __init__(self, text: str, file: str, limits: DialplanLimits) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.data: Any = None
        self._doc: YamlDoc | None = None
        try:
            doc = safe_yaml.load(text, limits)
        except safe_yaml.Refused as err:
            self.problems.append(Problem(file, err.line, err.message))
            return
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            detail = getattr(err, "problem", None) or str(err)
            self.problems.append(Problem(file, line, f"YAML syntax error: {detail}"))
            return
        if doc is None:
            self.problems.append(Problem(file, 1, "the file is empty"))
            return
        self._doc, self.data = doc, doc.data
        self.problems += [Problem(file, line, message) for line, message in doc.problems]

    def line(self, path: Path_) -> int:
        return self._doc.line(path) if self._doc is not None else 1


def _fields(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Allowed field names at ``path`` inside a Dialplan (for 'did you mean' hints)."""
    current: Any = schema.Dialplan
    for part in path:
        if current is schema.Dialplan and part == "nodes":
            current = "nodes"
        elif current == "nodes":
            current = schema.Node
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            annotation = getattr(field, "annotation", None) if field else None
            args = [a for a in getattr(annotation, "__args__", (annotation,)) if a]
            current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _pydantic_problems(tree: _Tree, err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = tuple(str(p) for p in e["loc"])
        line = tree.line(loc)
        if e["type"] == "extra_forbidden":
            allowed = _fields(schema.Dialplan, loc[:-1])
            close = difflib.get_close_matches(loc[-1], allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else (
                f" (allowed: {', '.join(allowed)})" if allowed else "")
            message = f"unknown field '{loc[-1]}'{hint}"
        else:
            where = ".".join(loc)
            message = f"{where}: {e['msg']}" if where else e["msg"]
        problems.append(Problem(tree.file, line, message))
    return problems


def _texts(node: schema.Node) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    out: list[tuple[tuple[str, ...], dict[str, str]]] = []
    kind = node.kind
    if node.say is not None:
        out.append(((kind,), node.say))
    body = getattr(node, kind)
    if isinstance(body, BaseModel):
        for name in ("prompt", "reprompt", "no_input", "no_match"):
            text = getattr(body, name, None)
            if text is not None:
                out.append(((kind, name), text))
    if node.verify is not None:
        for name, text in node.verify.prompts:
            if text is not None:
                out.append((("verify", "prompts", name), text))
    if node.survey is not None and node.survey.thanks is not None:
        out.append((("survey", "thanks"), node.survey.thanks))
    if node.ask is not None and node.ask.confirm is not None:
        out.append((("ask", "confirm"), node.ask.confirm))
    if node.action is not None:
        for name in ("read_back", "say"):
            text = getattr(node.action, name)
            if text is not None:
                out.append((("action", name), text))
    return out


def _targets(node: schema.Node) -> list[tuple[tuple[str, ...], str]]:
    out: list[tuple[tuple[str, ...], str]] = []
    if node.next:
        out.append((("next",), node.next))
    if node.goto:
        out.append((("goto",), node.goto))
    if node.survey:
        out.append((("survey", "next"), node.survey.next))
    for kind in ("ask", "collect", "survey"):
        body = getattr(node, kind)
        if body is not None and body.fallback:
            out.append(((kind, "fallback"), body.fallback))
    if node.ask:
        out.extend((("ask", "dtmf", key), target) for key, target in node.ask.dtmf.items())
        out.extend((("ask", "phrases", target), target) for target in node.ask.phrases)
        out.extend((("ask", "intents", i), target) for i, target in node.ask.intents.items())
    if node.branch:
        out.extend((("branch", "cases", k), t) for k, t in node.branch.cases.items())
        out.append((("branch", "default"), node.branch.default))
    if node.hours:
        out += [(("hours", "open"), node.hours.open), (("hours", "closed"), node.hours.closed)]
    if node.action:
        act = node.action
        out.extend((("action", f), getattr(act, f)) for f in ("ok", "declined", "unverified",
                                                               "failed", "unavailable")
                   if getattr(act, f))
        out.extend((("action", "outcomes", k), t) for k, t in act.outcomes.items())
    for kind, fields in (("verify", ("verified", "failed", "locked", "unavailable")),
                         ("change_phone", ("changed", "review", "failed"))):
        body = getattr(node, kind)
        if body is not None:
            out.extend(((kind, f), getattr(body, f)) for f in fields if getattr(body, f))
    return out


def _semantic_problems(tree: _Tree, plan: schema.Dialplan) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: Path_, message: str) -> None:
        problems.append(Problem(tree.file, tree.line(path), message))

    names = set(plan.nodes)
    for field in ("start", "fallback"):
        target = getattr(plan, field)
        if target is not None and target not in names:
            add((field,), f"{field} names unknown node '{target}'{_suggest(target, names)}")
    for tag in ("no_input", "no_match"):
        text = getattr(plan.defaults, tag)
        if text is not None:
            _check_languages(plan, text, ("defaults", tag), add)
    for node_id, node in plan.nodes.items():
        base = ("nodes", node_id)
        for sub, target in _targets(node):
            if target not in names:
                add((*base, *sub), f"node '{node_id}' goes to unknown node '{target}'"
                    f"{_suggest(target, names)}")
        for sub, text in _texts(node):
            _check_languages(plan, text, (*base, *sub), add)
        if node.hours:
            h = node.hours
            for field, args in (("timezone", (h.timezone, {}, [])),
                                ("weekly", ("UTC", h.weekly, [])),
                                ("holidays", ("UTC", {}, h.holidays))):
                try:
                    compile_schedule(*args)
                except ValueError as err:
                    add((*base, "hours", field), str(err))
        if node.set:
            for var, value in node.set.items():
                if var == "language" and value not in plan.languages:
                    add((*base, "set", var), f"language '{value}' is not one of the dialplan's "
                        f"languages ({', '.join(plan.languages)})")
                elif var in RESERVED_VARS - {"language"}:
                    add((*base, "set", var), f"'{var}' is set by Hotline and cannot be changed")
        if node.ask:
            for target, by_language in node.ask.phrases.items():
                extra = [lang for lang in by_language if lang not in plan.languages]
                if extra:
                    add((*base, "ask", "phrases", target), f"phrases in undeclared language "
                        f"{', '.join(extra)} (declared: {', '.join(plan.languages)})")
        if node.collect and node.collect.into in RESERVED_VARS:
            add((*base, "collect", "into"), f"'{node.collect.into}' is reserved; pick another name")
    for node_id in sorted(names - _reachable(plan)):
        add(("nodes", node_id), f"node '{node_id}' is unreachable from start '{plan.start}'")
    return problems


def _suggest(name: str, names: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(names), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_languages(plan: schema.Dialplan, text: dict[str, str], path: Path_, add: Any) -> None:
    missing = [lang for lang in plan.languages if lang not in text]
    extra = [lang for lang in text if lang not in plan.languages]
    if missing:
        add(path, f"missing prompt for {', '.join(missing)}")
    if extra:
        add(path, f"prompt in undeclared language {', '.join(extra)} "
            f"(declared: {', '.join(plan.languages)})")


def _reachable(plan: schema.Dialplan) -> set[str]:
    seen: set[str] = set()
    todo = deque([plan.start] + ([plan.fallback] if plan.fallback else []))
    while todo:
        node_id = todo.popleft()
        if node_id in seen or node_id not in plan.nodes:
            continue
        seen.add(node_id)
        todo.extend(target for _, target in _targets(plan.nodes[node_id]))
    return seen


def _loop_message(loop: list[str]) -> str:
    shown = loop if len(loop) <= 9 else [*loop[:4], f"... {len(loop) - 7} more", *loop[-3:]]
    return (f"nodes {' -> '.join(shown)} loop without ever waiting for the caller (the call "
            "would end in flow-loop); add an ask or collect, or end in queue or hangup")


def load_text(text: str, file: str = "<dialplan>", limits: DialplanLimits = DialplanLimits()
              ) -> tuple[LoadedDialplan | None, list[Problem]]:
    """Parse and check a dialplan; returns it only when there is no problem at all.

    Every way a dialplan comes in (check, publish, first start, the running server's reload)
    goes through here, so ``limits`` hold everywhere: a file over them is refused before it
    is turned into Python objects. This is CPU work: servers call it off the event loop.
    """
    tree = _Tree(text, file, limits)
    if tree.problems and tree.data is None:
        return None, tree.problems
    if not isinstance(tree.data, dict):
        return None, [*tree.problems, Problem(file, 1, "a dialplan must be a mapping (id, nodes…)")]
    try:
        plan = schema.Dialplan.model_validate(tree.data)
    except ValidationError as err:
        return None, tree.problems + _pydantic_problems(tree, err)
    problems = tree.problems + _semantic_problems(tree, plan)
    problems += [Problem(file, tree.line(("nodes", loop[0])), _loop_message(loop))
                 for loop in silent_loops(plan)]
    if problems:
        return None, sorted(problems, key=lambda p: p.line)
    for problem in _deprecated(tree, plan):
        _LOG.warning("dialplan-deprecated: %s", problem)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return LoadedDialplan(plan, text, digest), []


def _deprecated(tree: _Tree, plan: schema.Dialplan) -> list[Problem]:
    """Fields still accepted but no longer used (warned about, never refused)."""
    found: list[tuple[Path_, schema.Escalate | None]] = [(("escalate", "action"),
                                                          plan.escalate)]
    found += [(("nodes", node_id, "escalate", "action"), node.escalate)
              for node_id, node in plan.nodes.items()]
    return [Problem(tree.file, tree.line(path), "escalate 'action' is deprecated and ignored: "
                    "an escalation raises the priority of a route that already ends in a "
                    "queue and sends other callers to 'queue' (default senior_agents); "
                    "remove 'action'")
            for path, body in found if body is not None and body.action is not None]


def load_file(path: Path, limits: DialplanLimits = DialplanLimits()
              ) -> tuple[LoadedDialplan | None, list[Problem]]:
    """Read and check one file (never reading more than ``limits.max_bytes`` + 1 bytes)."""
    try:
        with path.open("rb") as f:
            raw = f.read(limits.max_bytes + 1)
        if len(raw) > limits.max_bytes:
            size = path.stat().st_size
            return None, [Problem(str(path), 1, f"the dialplan is {size:,} bytes; the limit "
                                  f"is {limits.max_bytes:,} (dialplans.max_bytes)")]
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as text mode
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem(str(path), 1, f"cannot read: {err}")]
    return load_text(text, str(path), limits)
