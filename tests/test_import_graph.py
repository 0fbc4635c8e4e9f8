"""No import cycle inside the installed packages: the module-level imports of every module of
``rnncodec`` (with ``rnncodec.formats`` and ``rnncodec.cli``) form a graph without a cycle."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from pathlib import Path

ROOTS = ("rnncodec", "rnncodec.formats", "rnncodec.cli")


def package_modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the installed packages: name → (source file, is a package); nothing imported."""
    modules: dict[str, tuple[Path, bool]] = {}

    def walk(name: str, folder: Path) -> None:
        modules[name] = (folder / "__init__.py", True)
        for info in pkgutil.iter_modules([str(folder)]):
            child = f"{name}.{info.name}"
            if info.ispkg:
                walk(child, folder / info.name)
            else:
                modules[child] = (folder / f"{info.name}.py", False)

    for root in ROOTS:
        walk(root, Path(importlib.util.find_spec(root).submodule_search_locations[0]))
    return modules


def _import_time_nodes(tree: ast.Module):
    """The import statements run when the module is imported: not those in functions or under
    ``if TYPE_CHECKING:``."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports when it is imported."""
    modules = package_modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        edges = graph.setdefault(name, set())
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _import_time_nodes(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            edges.update(target for target in targets if target in modules and target != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (the first repeated at the end), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_packages_have_no_import_cycle():
    graph = import_graph()
    assert {"rnncodec.codec", "rnncodec.formats.coders", "rnncodec.formats.coders.context.coder",
            "rnncodec.cli.main", "rnncodec.edge.app", "rnncodec.recognition.base"} <= graph.keys()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_container_imports_nothing_outside_it():
    graph = import_graph()
    outside = {(module, target) for module, targets in graph.items() if module.startswith("rnncodec.formats")
               for target in targets if not target.startswith("rnncodec.formats")}
    assert not outside


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
