"""Imports flow one way, like the floors of a house (docs/extending.md, "Layout"): the CLI on top; training, metrics,
report, serve and the Python API under it; a run (run.py, records/) under them; models, data and config
below; losses, latent maths, errors at the bottom. This test reads every import of src/drawlab (lazy ones
inside functions too, not those under ``if TYPE_CHECKING``) and fails on any circle or upward import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "drawlab"

# floor of each module or package (the longest matching prefix decides); higher floors may import lower ones
FLOORS: dict[str, int] = {
    "drawlab": 7,  # the package itself: re-exports the Python API (load)
    "drawlab.__main__": 7,
    "drawlab.cli": 6,
    "drawlab.cli_train": 6,
    "drawlab.cli_explore": 6,
    "drawlab.cli_args": 6,
    "drawlab.cli_lab": 6,
    "drawlab.cli_share": 6,
    "drawlab.lab": 5,  # the 2D lab: its game on the losses and tricks, its page, its pictures
    "drawlab.serve": 5,
    "drawlab.report": 5,
    "drawlab.training": 4,  # the in-training evaluation uses metrics
    "drawlab.metrics": 3,
    "drawlab.explore": 3,
    "drawlab.api": 3,
    "drawlab.export": 4,  # hands a model on: the API draws its samples, the evaluation fills its card
    "drawlab.run": 2,
    "drawlab.recipe": 2,  # a preset for a folder from what it holds: data and config below
    "drawlab.run_lock": 2,
    "drawlab.records": 2,
    "drawlab.models": 1,
    "drawlab.data": 1,
    "drawlab.config": 1,
    "drawlab.device": 1,
    "drawlab.images": 1,
    "drawlab.augment": 1,
    "drawlab.losses": 0,
    "drawlab.latent": 0,
    "drawlab.rng": 0,
    "drawlab.errors": 0,
    "drawlab.files": 0,
    "drawlab.faults": 0,
    "drawlab.version": 0,
    "drawlab.modes": 0,
    "drawlab.plotting": 0,
}
# what the report reads of a run lives in records/, never in training (which draws with records/ too)
APART = [("drawlab.training", "drawlab.report")]


def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is its __init__.py)."""
    out = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            walk(child)

    walk(tree)
    return found


def edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the drawlab modules it imports (a package import counts as its __init__)."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in _imports(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:  # from M import x: the module M.x where x is one, else M itself
                base = here[: len(here) - node.level + 1] if node.level else []
                mod = ".".join(base + (node.module.split(".") if node.module else []))
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod for a in node.names]
            for t in targets:
                while t and t not in mods:  # drawlab.x.y.func -> drawlab.x.y
                    t = t.rpartition(".")[0]
                if t.startswith(PACKAGE) and t in mods and t != name:
                    graph[name].add(t)
                    for i in range(1, t.count(".")):  # importing a.b.c runs a.b's __init__ too
                        parent = ".".join(t.split(".")[: i + 1])
                        if parent != name and not name.startswith(parent + "."):
                            graph[name].add(parent)
    return graph


def floor(module: str) -> int:
    best = max((p for p in FLOORS if module == p or module.startswith(p + ".")), key=len, default=None)
    if best is None:
        raise AssertionError(f"{module} has no floor: add it to FLOORS in tests/test_imports.py")
    return FLOORS[best]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


GRAPH = edges(modules())


def test_the_walker_sees_the_imports_it_should() -> None:
    """Known answers, so that a walker that finds nothing cannot pass the tests below."""
    assert "drawlab.errors" in GRAPH["drawlab.config"]
    assert "drawlab.training" in GRAPH["drawlab.cli_train"]  # a lazy import inside cmd_train
    assert len(GRAPH) > 60 and sum(map(len, GRAPH.values())) > 200


def test_no_module_imports_a_higher_floor() -> None:
    up = [f"{a} (floor {floor(a)}) -> {b} (floor {floor(b)})" for a in GRAPH for b in GRAPH[a] if floor(b) > floor(a)]
    assert not up, "upward imports:\n" + "\n".join(sorted(up))


@pytest.mark.parametrize("one, other", APART)
def test_packages_of_one_floor_that_must_not_meet_do_not(one: str, other: str) -> None:
    crossing = [
        f"{a} -> {b}"
        for a in GRAPH
        for b in GRAPH[a]
        if (a.startswith(one) and b.startswith(other)) or (a.startswith(other) and b.startswith(one))
    ]
    assert not crossing, "\n".join(sorted(crossing))


def test_there_is_no_circle_of_imports() -> None:
    found = circles(GRAPH)
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)
