"""No import cycle among the package's modules (module-level imports only).

Every ``robust_hashing/**/*.py`` is parsed (not imported); its module-level imports of the
package (``import robust_hashing.x``, ``from robust_hashing.x import y``, relative imports)
become edges of a graph. Imports inside functions and under ``if TYPE_CHECKING:`` run
after the import of the module finished (or never), so they are left out. ``from p import
y`` points at the module ``p.y`` when there is one, else at ``p`` itself: reading a name of a
package whose ``__init__`` is still running is exactly how a cycle breaks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "robust_hashing"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` under ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements run when the module is imported (not in functions or TYPE_CHECKING)."""
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        elif isinstance(node, ast.If):
            body = [] if _is_type_checking(node.test) else node.body
            stack.extend(reversed([*body, *node.orelse]))
        else:  # class bodies, try/with/for blocks run at import time
            children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)]
            stack.extend(reversed(children))


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → package modules it imports at module level."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in module_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _absolute(node, module, is_package)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:  # `import a.b.C`-style leftovers
                    target = target.rpartition(".")[0]
                if target.startswith(PACKAGE) and target != module:
                    graph[module].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``a → … → a``) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's smallest module (breadth-first)."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph[node] & component):
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if succ not in parents:
                    parents[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - an SCC has one


def test_no_import_cycle_in_the_package() -> None:
    cycles = find_cycles(import_graph(module_files()))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _write(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files(root / PACKAGE)


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    modules = _write(
        tmp_path,
        {
            f"{PACKAGE}/__init__.py": "",
            f"{PACKAGE}/kind/__init__.py": "from robust_hashing.kind.one import One\n",
            f"{PACKAGE}/kind/one.py": "from robust_hashing.kind import REGISTRY\nclass One: ...\n",
            f"{PACKAGE}/a.py": "from . import b\n",
            f"{PACKAGE}/b.py": "import robust_hashing.c\n",
            f"{PACKAGE}/c.py": "from .a import x\n",
        },
    )
    assert sorted(find_cycles(import_graph(modules))) == [
        [f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.c", f"{PACKAGE}.a"],
        [f"{PACKAGE}.kind", f"{PACKAGE}.kind.one", f"{PACKAGE}.kind"],
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from robust_hashing.a import A\n",
        "def f():\n    from robust_hashing.a import A\n",
        "import os\n",
    ],
)
def test_deferred_and_foreign_imports_are_no_edges(tmp_path: Path, source: str) -> None:
    modules = _write(
        tmp_path,
        {
            f"{PACKAGE}/__init__.py": "",
            f"{PACKAGE}/a.py": "from robust_hashing import b\nA = 1\n",
            f"{PACKAGE}/b.py": source,
        },
    )
    graph = import_graph(modules)
    assert graph[f"{PACKAGE}.a"] == {f"{PACKAGE}.b"}
    assert graph[f"{PACKAGE}.b"] == set()
    assert find_cycles(graph) == []


def test_class_bodies_and_try_blocks_count(tmp_path: Path) -> None:
    modules = _write(
        tmp_path,
        {
            f"{PACKAGE}/__init__.py": "",
            f"{PACKAGE}/a.py": "try:\n    import robust_hashing.b\nexcept ImportError:\n    pass\n",
            f"{PACKAGE}/b.py": "class B:\n    from robust_hashing import a\n",
        },
    )
    assert find_cycles(import_graph(modules)) == [[f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.a"]]
