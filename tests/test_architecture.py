"""The rules docs/architecture.md states: who may import whom, no import cycles, and the files it names exist."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("breakeven", "pricing", "traces", "costmodel", "reports")

#: package → the packages of ours it may import (besides itself); docs/architecture.md's table.
ALLOWED: dict[str, set[str]] = {
    "breakeven": set(),
    "pricing": {"breakeven"},
    "traces": {"breakeven"},
    "costmodel": {"breakeven", "pricing", "traces"},
    "reports": {"breakeven", "pricing", "costmodel"},
}
#: the CLI layer of costmodel is the composition root: it may also import reports.
CLI_MODULES = ("costmodel.cli", "costmodel.commands")
#: what reports may read of costmodel: the saved results and what they embed, never the model code.
REPORTS_MAY_READ = ("costmodel.results", "costmodel.profiles.schema")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that runs (at module level or inside a function), skipping ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_imports(node)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """Our modules an import statement loads: ``from pkg import sub`` counts as ``pkg.sub`` when it is one."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in MODULES:
                yield alias.name
        return
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        here = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join([*here[: len(here) - node.level + 1], *([base] if base else [])])
    for alias in node.names:
        if f"{base}.{alias.name}" in MODULES:
            yield f"{base}.{alias.name}"
        elif base in MODULES:
            yield base


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {t for node in _runtime_imports(tree) for t in _targets(module, node)} - {module}
    return graph


GRAPH = _graph()


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_packages_import_only_what_the_layering_allows() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        package = module.split(".")[0]
        for target in sorted(targets):
            other = target.split(".")[0]
            if other == package:
                continue
            allowed = other in ALLOWED[package] or (other == "reports" and _in(module, CLI_MODULES))
            if package == "reports" and other == "costmodel":
                allowed = _in(target, REPORTS_MAY_READ)
            if not allowed:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports that docs/architecture.md forbids:\n" + "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, children in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(children)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            child = next(pending, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_not_even_ones_dodged_inside_a_function() -> None:
    cycles = _cycles(GRAPH)
    assert not cycles, "modules that import each other (directly or through others):\n" + "\n".join(
        " ↔ ".join(c) for c in cycles
    )


ARCHITECTURE = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "path",
    sorted(
        set(re.findall(r"`((?:breakeven|pricing|traces|costmodel|reports|tests)/[\w/.]+\.(?:py|j2))`", ARCHITECTURE))
    ),
)
def test_every_file_the_architecture_page_names_exists(path: str) -> None:
    assert (REPO / path).is_file(), f"docs/architecture.md names {path}, which does not exist"


@pytest.mark.parametrize("module", sorted(set(re.findall(r"`(?:engine|steps|replay|profiles)/(\w+)`", ARCHITECTURE))))
def test_every_module_the_architecture_page_names_exists(module: str) -> None:
    assert any(name.endswith("." + module) for name in MODULES), f"docs/architecture.md names {module!r}"


@pytest.mark.parametrize("name", sorted(set(re.findall(r"`(\w+\.py)`", ARCHITECTURE))))
def test_every_bare_file_name_the_architecture_page_names_exists(name: str) -> None:
    assert any(path.name == name for path in MODULES.values()), f"docs/architecture.md names {name}"


#: docs/architecture.md's layers inside costmodel, bottom-up: module (or package) → layer. The longest
#: matching name decides; every costmodel module must match one.
COSTMODEL_LAYERS: dict[str, int] = {
    "costmodel.service": 1,
    "costmodel.engine": 2,
    "costmodel.profiles.schema": 3,
    "costmodel.results": 3,
    "costmodel.profiles": 4,
    "costmodel.engine.runs": 4,
    "costmodel.engine.calibrate": 4,
    "costmodel.engine.replica": 4,
    "costmodel.engine.capacity": 4,
    "costmodel.capacity": 4,
    "costmodel.replay": 5,
    "costmodel.billing": 5,
    **dict.fromkeys(
        (
            "costmodel.breakeven",
            "costmodel.sensitivity",
            "costmodel.spot",
            "costmodel.commitment",
            "costmodel.finance",
            "costmodel.unit_economics",
            "costmodel.prefix_routing",
            "costmodel.recommend",
            "costmodel.headline",
            "costmodel.frames",
            "costmodel.checks",
            "costmodel.matching",
            "costmodel.policy",
        ),
        6,
    ),
    **dict.fromkeys(("costmodel.scenario", "costmodel.steps", "costmodel.analyze", "costmodel.sweep"), 7),
    **dict.fromkeys(
        (
            "costmodel",
            "costmodel.__main__",
            "costmodel.cli",
            "costmodel.commands",
            "costmodel.profiles.cli",
            "costmodel.profiles.measure_cli",
            "costmodel.profiles.options",
        ),
        8,
    ),
}


def _layer(module: str) -> int | None:
    names = [n for n in COSTMODEL_LAYERS if module == n or module.startswith(n + ".")]
    return COSTMODEL_LAYERS[max(names, key=len)] if names else None


def test_costmodel_modules_import_only_their_layer_or_below() -> None:
    modules = [m for m in GRAPH if m == "costmodel" or m.startswith("costmodel.")]
    unplaced = [m for m in modules if _layer(m) is None]
    assert not unplaced, f"give these a layer in docs/architecture.md and COSTMODEL_LAYERS: {unplaced}"
    upward = [
        f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
        for m in modules
        for t in sorted(GRAPH[m])
        if t.startswith("costmodel") and (_layer(t) or 0) > (_layer(m) or 0)
    ]
    assert not upward, "imports against docs/architecture.md's layers:\n" + "\n".join(upward)


def test_the_layer_check_catches_an_upward_import() -> None:
    assert _layer("costmodel.replay.hybrid") == 5 and _layer("costmodel.engine.runs") == 4
    assert (_layer("costmodel.engine.simulator") or 0) < (_layer("costmodel.profiles.io") or 0)
