"""YAML for dialplans with hard limits: size, nesting depth and alias expansion.

A few hundred bytes of anchors and aliases ("billion laughs") expand to billions of nodes,
and thousands of nested brackets exhaust the stack. The limits are checked event by event
while the plain data is built, so a hostile file costs almost nothing and is refused with
the line it went wrong on. No node graph is kept: a big dialplan leaves few objects behind
for the garbage collector to walk (a long collection would pause every call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)
from yaml.resolver import Resolver

try:  # libyaml's parser is several times faster; what is built from its events stays ours
    from yaml._yaml import CParser as _Parser  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

_TAG = "tag:yaml.org,2002:"
_SCALARS = {_TAG + name: SafeConstructor.yaml_constructors[_TAG + name]
            for name in ("null", "bool", "int", "float", "str", "timestamp")}
Path_ = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DialplanLimits:
    """How big a dialplan may be; applied wherever a dialplan comes in."""

    max_bytes: int = 2_000_000
    """Longest dialplan file, in bytes (UTF-8)."""
    max_depth: int = 64
    """Deepest nesting of mappings and lists, counting what aliases bring in."""
    max_alias_nodes: int = 10_000
    """Most nodes that aliases may add once every alias is expanded."""


class Refused(Exception):
    """A document over a limit, or using YAML a dialplan has no use for; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(slots=True)
class YamlDoc:
    """Plain data (dicts, lists, scalars) remembering the line of every key and item."""

    data: Any
    lines: dict[int, dict[Any, int]]
    """``id(container)`` -> key or index -> line; shared where aliases share a container."""
    problems: list[tuple[int, str]]
    """Duplicate keys and keys that are not plain words (the data keeps the first one)."""

    def line(self, path: Path_ | tuple[Any, ...]) -> int:
        """The line of the deepest part of ``path`` that exists (1 when none does)."""
        found, here = 1, self.data
        for part in path:
            table = self.lines.get(id(here)) if isinstance(here, dict | list) else None
            key = int(part) if isinstance(here, list) and str(part).isdigit() else part
            if table is None or key not in table:
                break
            found, here = table[key], here[key]
        return found


class _Builder:
    """Turns parser events into plain data, counting depth and alias expansion."""

    def __init__(self, text: str, limits: DialplanLimits) -> None:
        self.parser = _Parser(text)
        self.limits = limits
        self.resolver = Resolver()
        self.constructor = SafeConstructor()
        # anchor -> (value, nodes once expanded, height); None while still being built
        self.anchors: dict[str, tuple[Any, int, int] | None] = {}
        self.alias_nodes = 0
        self.doc = YamlDoc(None, {}, [])

    def document(self) -> YamlDoc | None:
        self.parser.get_event()  # stream start
        if self.parser.check_event(StreamEndEvent):
            return None
        self.parser.get_event()  # document start
        self.doc.data = self.node(1)[0]
        self.parser.get_event()  # document end
        if not self.parser.check_event(StreamEndEvent):
            raise Refused(_line(self.parser.peek_event()), "expected one document, found another")
        return self.doc

    def node(self, depth: int) -> tuple[Any, int, int]:
        event: Any = self.parser.get_event()
        if isinstance(event, AliasEvent):
            return self.alias(event, depth)
        if depth > self.limits.max_depth:
            raise Refused(_line(event), f"nested deeper than {self.limits.max_depth} levels "
                          "(dialplans.max_depth)")
        if event.anchor is not None:
            self.anchors[event.anchor] = None
        if isinstance(event, ScalarEvent):
            shape = (self.scalar(event), 1, 1)
        elif isinstance(event, MappingStartEvent):
            shape = self.mapping(depth)
        else:
            shape = self.sequence(depth)
        if event.anchor is not None:
            self.anchors[event.anchor] = shape
        return shape

    def alias(self, event: Any, depth: int) -> tuple[Any, int, int]:
        if event.anchor not in self.anchors:
            raise Refused(_line(event), f"alias *{event.anchor} has no anchor &{event.anchor} "
                          "before it")
        shape = self.anchors[event.anchor]
        if shape is None:
            raise Refused(_line(event), f"alias *{event.anchor} refers to a node that contains it")
        self.alias_nodes += shape[1]
        if self.alias_nodes > self.limits.max_alias_nodes:
            raise Refused(_line(event), f"aliases expand to more than "
                          f"{self.limits.max_alias_nodes:,} nodes (dialplans.max_alias_nodes)")
        if depth - 1 + shape[2] > self.limits.max_depth:
            raise Refused(_line(event), f"alias *{event.anchor} nests deeper than "
                          f"{self.limits.max_depth} levels (dialplans.max_depth)")
        return shape

    def scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        construct = _SCALARS.get(tag)
        if construct is None:
            raise Refused(_line(event), f"unsupported YAML tag {event.tag}")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            value = construct(self.constructor, node)
        except ValueError as err:  # e.g. 2024-13-01 looks like a date but is not one
            raise Refused(_line(event), f"bad value {event.value!r}: {err}") from err
        return value.isoformat() if isinstance(value, date | datetime) else value

    def sequence(self, depth: int) -> tuple[Any, int, int]:
        out: list[Any] = []
        table: dict[Any, int] = {}
        self.doc.lines[id(out)] = table
        nodes, height = 1, 0
        while not self.parser.check_event(SequenceEndEvent):
            table[len(out)] = _line(self.parser.peek_event())
            value, n, h = self.node(depth + 1)
            out.append(value)
            nodes, height = nodes + n, max(height, h)
        self.parser.get_event()
        return out, nodes, height + 1

    def mapping(self, depth: int) -> tuple[Any, int, int]:
        out: dict[str, Any] = {}
        table: dict[Any, int] = {}
        self.doc.lines[id(out)] = table  # a discarded container's id may be reused: rebound
        nodes, height = 1, 0
        while not self.parser.check_event(MappingEndEvent):
            key_event: Any = self.parser.peek_event()
            line = _line(key_event)
            plain = isinstance(key_event, ScalarEvent)
            key, kn, kh = self.node(depth + 1)
            value, vn, vh = self.node(depth + 1)
            nodes, height = nodes + kn + vn, max(height, kh, vh)
            if not plain:
                self.doc.problems.append((line, "a key must be a plain word, not a list or map"))
                continue
            key = str(key_event.value)  # raw text: `on`, `yes` and `1` stay strings
            if key in out:
                self.doc.problems.append((line, f"duplicate key {key!r}"))
                continue
            table[key] = line
            out[key] = value
        self.parser.get_event()
        return out, nodes, height + 1


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else 1


def check_size(text: str, limits: DialplanLimits) -> Refused | None:
    """The size limit alone (cheap; run it before anything else)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        return Refused(1, f"the dialplan is {size:,} bytes; the limit is "
                       f"{limits.max_bytes:,} (dialplans.max_bytes)")
    return None


def load(text: str, limits: DialplanLimits) -> YamlDoc | None:
    """Plain data of one YAML document within ``limits``; None for an empty document.

    Raises :class:`Refused` for a file over a limit and ``yaml.YAMLError`` for bad syntax.
    Aliases share containers; walking the data expands at most ``max_alias_nodes`` extra
    nodes, never deeper than ``max_depth``.
    """
    too_big = check_size(text, limits)
    if too_big is not None:
        raise too_big
    builder = _Builder(text, limits)
    try:
        return builder.document()
    finally:
        builder.parser.dispose()
