"""The import rule (docs/architecture.md): who may import whom inside ``ivr``.

Nodes are each package ``ivr/<package>/`` and each top-level module (``ivr/app.py``,
``ivr/events.py``…). Edges are every ``ivr`` import found anywhere in a file: module level,
inside functions and under ``TYPE_CHECKING`` alike (``ast.walk``), relative ones resolved.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

IVR = Path(__file__).resolve().parents[1] / "ivr"

NO_FLOW = ("telephony", "recording", "nlu", "security", "emotion", "speech", "audio")
"""Adapters and services: they import faces (``<package>/api.py``, ``ivr.events``…), never
the flow."""
COMPOSITION = ("commands", "testing")
"""Packages that, like ``app.py`` and ``cli.py``, build whole servers or commands from the
settings tree: ``commands/`` (the CLI's commands) and ``testing/`` (harnesses that start a
real server)."""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    where: str
    """``path:line`` of the import."""


def _node(module: str) -> str | None:
    """The node an ``ivr...`` module belongs to (None for ``ivr`` itself and its attributes,
    such as ``ivr.__version__``)."""
    parts = module.split(".")
    if parts[0] != "ivr" or len(parts) == 1:
        return None
    name = parts[1]
    return name if (IVR / name).is_dir() or (IVR / f"{name}.py").is_file() else None


def _module_of(path: Path) -> list[str]:
    rel = path.relative_to(IVR.parent).with_suffix("")
    parts = list(rel.parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: Path, tree: ast.AST) -> list[tuple[str, int]]:
    """Every ``ivr`` module (or ``ivr.pkg.name``) imported in one file, with its line."""
    here = _module_of(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # ``from ivr import flow`` names a package; ``from ivr.flow import x`` is in flow.
            found += [(f"{module}.{alias.name}" if module == "ivr" else module, node.lineno)
                      for alias in node.names]
    return [(m, line) for m, line in found if m == "ivr" or m.startswith("ivr.")]


def _edges() -> list[Edge]:
    edges = []
    for path in sorted(IVR.rglob("*.py")):
        source = _node(".".join(_module_of(path)))
        if source is None:
            continue
        where = path.relative_to(IVR.parent).as_posix()
        for module, line in _imported(path, ast.parse(path.read_text(encoding="utf-8"))):
            target = _node(module)
            if target is not None and target != source:
                edges.append(Edge(source, target, f"{where}:{line}"))
    return list(dict.fromkeys(edges))


def _is_package(node: str) -> bool:
    return (IVR / node).is_dir()


def _cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One shortest cycle through each node that is on one (each cycle reported once)."""
    graph: dict[str, dict[str, Edge]] = defaultdict(dict)
    for e in edges:
        graph[e.source].setdefault(e.target, e)
    cycles: list[list[Edge]] = []
    seen: set[frozenset[str]] = set()
    for start in sorted(graph):
        # Breadth-first from start's successors back to start: the shortest cycle.
        paths: dict[str, list[Edge]] = {t: [e] for t, e in graph[start].items()}
        queue = list(paths)
        while queue and start not in paths:
            node = queue.pop(0)
            for target, e in graph.get(node, {}).items():
                if target not in paths:
                    paths[target] = [*paths[node], e]
                    queue.append(target)
        if start in paths:
            key = frozenset(e.source for e in paths[start])
            if key not in seen:
                seen.add(key)
                cycles.append(paths[start])
    return cycles


def _show(edges: list[Edge]) -> str:
    return "\n".join(f"  {e.source} -> {e.target}  ({e.where})" for e in edges)


def test_the_graph_is_read() -> None:
    edges = _edges()
    assert any(e.source == "app" and e.target == "flow" for e in edges)
    assert any(e.source == "flow" and e.target == "events" for e in edges)


def test_adapters_and_services_never_import_the_flow() -> None:
    bad = [e for e in _edges() if e.source in NO_FLOW and e.target == "flow"]
    assert not bad, ("these import ivr.flow; import the faces (ivr/<package>/api.py, "
                     "ivr/events.py, ivr/telephony/call.py) instead:\n" + _show(bad))


def test_packages_never_import_the_settings_tree() -> None:
    bad = [e for e in _edges() if e.target == "config" and _is_package(e.source)
           and e.source not in COMPOSITION]
    assert not bad, ("packages get their own settings section from whoever builds them; "
                     "these import ivr.config:\n" + _show(bad))


def test_no_import_cycles_among_ivr_packages_and_modules() -> None:
    cycles = _cycles(_edges())
    assert not cycles, "import cycles (one edge each shown):\n" + "\n\n".join(
        " -> ".join([c[0].source, *(e.target for e in c)]) + "\n" + _show(c) for c in cycles)
