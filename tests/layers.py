"""The house's shape, read from the code: which room of an app imports which.

An app is a package (``diary_service``); its rooms are its direct subpackages and
modules (``school``, ``journal``, ``access``). The app states its rooms' order, lowest
first, as a list of layers (each a set of room names); a room may import only rooms of
its own layer or lower ones, and the rooms' imports may form no cycle. Modules may form
no cycle either, inside a room or across rooms. The app's ``__init__`` (the factory)
stands above every room and may import them all; nothing imports it.

Every ``import`` counts, at module level or inside a function (a function-local import
that dodges a cycle is still a dependency), except those under ``if TYPE_CHECKING:``,
which never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Edge:
    source: str  # module importing
    target: str  # module imported
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = getattr(test, "id", None) or getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    for inner in ast.walk(child):
                        if hasattr(inner, "lineno"):
                            skipped.add(inner.lineno)
    return skipped


def imports(app: str, root: Path = ROOT, skip: Iterable[str] = ("migrations",)) -> list[Edge]:
    """Every import inside the package ``app`` of another module of ``app``."""
    edges: list[Edge] = []
    package_dir = root / app.replace(".", "/")
    for path in sorted(package_dir.rglob("*.py")):
        if any(part in skip for part in path.relative_to(package_dir).parts):
            continue
        source_module = module_name(path, root)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = source_module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from module import name`` imports the module; ``from pkg import module``
                # the module and the package too (its ``__init__`` runs: for the app's
                # own package, that is the factory).
                targets.append(base)
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    if _exists(candidate, root):
                        targets.append(candidate)
            for target in targets:
                if target == app or target.startswith(app + "."):
                    edges.append(Edge(source_module, target, node.lineno))
    return edges


def _exists(module: str, root: Path) -> bool:
    path = root / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def room_of(module: str, app: str, tables: bool = False) -> str:
    """``diary_service.school.services`` → ``school``; the app itself → ``""``. With
    ``tables``, every ``models`` module (a room's tables) is the room ``models``."""
    rest = module[len(app) :].lstrip(".")
    if tables and rest.split(".")[-1] == "models":
        return "models"
    return rest.split(".")[0] if rest else ""


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def problems(
    app: str,
    layers: list[set[str]],
    root: Path = ROOT,
    *,
    tables: bool = False,
    entry_points: Iterable[str] = (),
) -> list[str]:
    """Everything wrong with ``app``'s shape, as sentences; [] when it is right.

    ``layers``: the rooms in order, lowest first. A room the code has and the layers do
    not name is a problem too (a new room must be placed). ``tables``: the rooms'
    ``models`` modules form one room ``models`` of their own (the app's tables are one
    schema; place ``models`` low). ``entry_points``: rooms that start the app (a worker)
    and so may import its factory."""
    rank = {room: n for n, layer in enumerate(layers) for room in layer}
    entry = set(entry_points)
    edges = imports(app, root)
    found: list[str] = []
    seen: set[tuple[str, int, str]] = set()

    def place(module: str) -> str:
        return room_of(module, app, tables)

    rooms_in_code = {place(m) for e in edges for m in (e.source, e.target)} - {""}
    for path in (root / app).iterdir():
        if path.name.startswith(("_", ".")) or path.name in ("migrations",):
            continue
        if path.suffix == ".py" or (path / "__init__.py").is_file():
            rooms_in_code.add(path.stem if path.suffix == ".py" else path.name)
    for room in sorted(rooms_in_code - set(rank)):
        found.append(f"{app}.{room} is in no layer: place it in the stated order")
    room_graph: dict[str, set[str]] = {}
    module_graph: dict[str, set[str]] = {}
    for edge in edges:
        module_graph.setdefault(edge.source, set()).add(edge.target)
        source, target = place(edge.source), place(edge.target)
        if source == target or (edge.source, edge.line, edge.target) in seen:
            continue
        seen.add((edge.source, edge.line, edge.target))
        if target == "":
            if source not in entry:
                found.append(f"{edge.source}:{edge.line} imports the app factory ({app})")
            continue
        if source == "" or source in entry:
            continue  # the factory and the entry points wire every room
        room_graph.setdefault(source, set()).add(target)
        if source in rank and target in rank and rank[target] > rank[source]:
            found.append(
                f"{edge.source}:{edge.line} imports {edge.target}: "
                f"{source} (layer {rank[source]}) may not import {target} (layer {rank[target]})"
            )
    for cycle in cycles(room_graph):
        found.append("rooms import each other in a cycle: " + " ↔ ".join(cycle))
    for cycle in cycles(module_graph):
        found.append("modules import each other in a cycle: " + " ↔ ".join(cycle))
    return found


def oversized(app: str, limit: int = 500, root: Path = ROOT) -> list[str]:
    """Modules of ``app`` longer than ``limit`` lines (migrations aside)."""
    long = []
    for path in sorted((root / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            long.append(f"{path.relative_to(root)}: {lines} lines")
    return long
