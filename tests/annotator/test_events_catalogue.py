"""The websocket event catalogue (`annotator.events.EVENTS`) is the one list of event names.

Every `broadcast(...)` in the server's sources names an event of the catalogue, and the
frontend's `ProjectEvent` union (frontend/src/lib/events.ts) names exactly its events. The
server side is read with `ast`: an event name is a string literal, a module-level constant
(imported ones too), or a parameter whose callers in the same module pass one of those.
A broadcast whose name cannot be resolved that way fails the test as well: name the event
so a reader (and this test) can see it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from annotator.events import EVENTS
from tests.conftest import REPO_ROOT

EVENTS_TS = REPO_ROOT / "frontend" / "src" / "lib" / "events.ts"
# The Django apps and project package: every top-level package but the tests.
SOURCE_ROOTS = sorted(p.parent for p in REPO_ROOT.glob("*/__init__.py") if p.parent.name != "tests")


@dataclass(frozen=True)
class Site:
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


class Module:
    """One parsed source file, with what is needed to resolve an event argument."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(), str(path))
        self.parents: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }

    def constant(self, name: str) -> str | None:
        """The value of a module-level `NAME = "..."`, or of a `from x import NAME` of one."""
        for node in self.tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets) and _is_str(node.value):
                    return node.value.value  # type: ignore[union-attr]
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (alias.asname or alias.name) == name and (source := _module_file(node.module)):
                        return Module(source).constant(alias.name)
        return None

    def enclosing(self, node: ast.AST, kind: type | tuple[type, ...]) -> ast.AST | None:
        while (node := self.parents.get(node)) is not None:  # type: ignore[assignment]
            if isinstance(node, kind):
                return node
        return None

    def calls_to(self, name: str) -> list[ast.Call]:
        return [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
        ]

    def resolve(self, expr: ast.expr, depth: int = 0) -> set[str] | None:
        """Every event name `expr` can hold, or None when it cannot be told from this module."""
        if _is_str(expr):
            return {expr.value}  # type: ignore[attr-defined]
        if depth > 5:
            return None
        if isinstance(expr, ast.Name):
            if (value := self.constant(expr.id)) is not None:
                return {value}
            function = self.enclosing(expr, (ast.FunctionDef, ast.AsyncFunctionDef))
            return self._from_callers(function, expr.id, depth)  # type: ignore[arg-type]
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return self._from_init(expr, depth)
        return None

    def _from_callers(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
        param: str,
        depth: int,
        *,
        skip_self: bool = False,
    ) -> set[str] | None:
        """A parameter's values: what every call of the function in this module passes for it."""
        if function is None:
            return None
        names = [a.arg for a in function.args.posonlyargs + function.args.args]
        if param not in names:
            return None
        position = names.index(param) - (1 if skip_self else 0)
        callee = function.name
        if skip_self:  # an __init__: its callers call the class
            cls = self.enclosing(function, ast.ClassDef)
            callee = cls.name if isinstance(cls, ast.ClassDef) else ""
        calls = self.calls_to(callee)
        if not calls:
            return None
        values: set[str] = set()
        for call in calls:
            arg = next((k.value for k in call.keywords if k.arg == param), None)
            if arg is None and position < len(call.args):
                arg = call.args[position]
            found = self.resolve(arg, depth + 1) if arg is not None else None
            if found is None:
                return None
            values |= found
        return values

    def _from_init(self, expr: ast.Attribute, depth: int) -> set[str] | None:
        """`self.event` set in `__init__` from one of its parameters."""
        cls = self.enclosing(expr, ast.ClassDef)
        if not isinstance(cls, ast.ClassDef):
            return None
        for init in cls.body:
            if not (isinstance(init, ast.FunctionDef) and init.name == "__init__"):
                continue
            for node in ast.walk(init):
                if (
                    isinstance(node, ast.Assign)
                    and any(
                        isinstance(t, ast.Attribute) and t.attr == expr.attr and getattr(t.value, "id", "") == "self"
                        for t in node.targets
                    )
                    and isinstance(node.value, ast.Name)
                ):
                    return self._from_callers(init, node.value.id, depth, skip_self=True)
        return None


def _is_str(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _module_file(dotted: str) -> Path | None:
    path = REPO_ROOT.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _broadcasts() -> tuple[dict[str, list[Site]], list[Site]]:
    """Event name -> where it is broadcast, and the broadcasts whose name could not be resolved."""
    named: dict[str, list[Site]] = {}
    unresolved: list[Site] = []
    for root in SOURCE_ROOTS:
        for path in sorted(root.rglob("*.py")):
            if "broadcast(" not in path.read_text():
                continue
            module = Module(path)
            for node in ast.walk(module.tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name != "broadcast":
                    continue
                site = Site(path, node.lineno)
                event = next((k.value for k in node.keywords if k.arg == "event"), None)
                if event is None and len(node.args) >= 2:
                    event = node.args[1]
                found = module.resolve(event) if event is not None else None
                if found is None:
                    unresolved.append(site)
                for value in found or ():
                    named.setdefault(value, []).append(site)
    return named, unresolved


def _frontend_events(source: str) -> set[str]:
    """The `event: "..."` names of `export type ProjectEvent = | {...} | ...`, named members followed."""
    return _event_names(source, "ProjectEvent", set())


def _declaration(source: str, name: str) -> str:
    """The text of `type NAME = ...;` or `interface NAME {...}`, up to its end at brace depth 0."""
    match = re.search(rf"\b(?:type\s+{name}\s*(?:<[^=]*>)?\s*=|interface\s+{name}\b[^{{]*\{{)", source)
    assert match, f"frontend/src/lib/events.ts declares no type {name}"
    depth = 1 if match.group(0).endswith("{") else 0
    for end in range(match.end(), len(source)):
        char = source[end]
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and (char == ";" or (char == "}" and match.group(0).endswith("{"))):
            return source[match.end() : end]
    return source[match.end() :]


def _event_names(source: str, name: str, seen: set[str]) -> set[str]:
    seen.add(name)
    body = _declaration(source, name)
    names = set(re.findall(r"""\bevent\??\s*:\s*["']([^"']+)["']""", body))
    # Members written as named types (`| AnnotationsChanged | ...`) at the union's top level.
    top_level = body
    while (stripped := re.sub(r"\{[^{}]*\}", "", top_level)) != top_level:
        top_level = stripped
    for member in re.findall(r"\b([A-Z]\w*)\b", top_level):
        if member not in seen and re.search(rf"\b(?:type|interface)\s+{member}\b", source):
            names |= _event_names(source, member, seen)
    return names


def test_every_broadcast_names_an_event_of_the_catalogue():
    named, unresolved = _broadcasts()

    assert named, "found no broadcast() call at all: is SOURCE_ROOTS right?"
    unknown = {name: [str(site) for site in sites] for name, sites in named.items() if name not in EVENTS}
    assert not unknown, f"events broadcast but not in annotator.events.EVENTS: {unknown}"
    assert not unresolved, (
        "broadcasts whose event name this test cannot tell (use a literal or a module constant): "
        f"{[str(site) for site in unresolved]}"
    )


def test_the_frontend_union_names_exactly_the_catalogue():
    assert EVENTS_TS.is_file(), f"{EVENTS_TS.relative_to(REPO_ROOT)} is missing: it declares ProjectEvent"

    names = _frontend_events(EVENTS_TS.read_text())

    assert names == set(EVENTS), (
        f"only in events.ts: {sorted(names - set(EVENTS))}; only in EVENTS: {sorted(set(EVENTS) - names)}"
    )


def test_every_event_has_a_meaning():
    assert all(name == name.strip() and meaning.strip() for name, meaning in EVENTS.items())


def test_the_frontend_reader_follows_named_members():
    source = """
        interface Base { payload: unknown }
        export type ProjectEvent =
          | { event: "annotations.changed"; payload: { image: number; version: number } }
          | JobProgress;
        type JobProgress = { event: "job.progress"; payload: { kind: "sync"; nested: { a: 1 } } };
        type Other = { event: "not.this.one" };
    """

    assert _frontend_events(source) == {"annotations.changed", "job.progress"}
