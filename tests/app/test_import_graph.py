"""app/ has no import cycle, not even one that only type checkers follow.

The graph is read from the source (AST), so it holds every import: at module
level, inside functions, and under `if TYPE_CHECKING:`, where a cycle does not
break the program but still ties two modules together. `from package import
name` counts as an import of `package.name` when that is a module, else of
`package` (its `__init__`); a module's own parent package is not an edge unless
it is imported by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"


def module_names(package: Path) -> dict[str, Path]:
    """Every module of a package directory, by dotted name (`app`, `app.main`, …)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports (every import statement in the file)."""
    modules = module_names(package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(name, path.name == "__init__.py", node)
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.append(submodule if submodule in modules else source)
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, …, a], or None (depth-first search, white/grey/black)."""
    state: dict[str, int] = dict.fromkeys(graph, 0)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state[target] == 1:
                return [*stack[stack.index(target) :], target]
            if state[target] == 0 and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state[node] == 0 and (cycle := visit(node)):
            return cycle
    return None


def test_app_has_no_import_cycle() -> None:
    graph = import_graph(APP)
    assert {"app.main", "app.fastpath.route", "app.routes.convert"} <= set(graph)
    assert "app.runtime" in graph["app.dependencies"]  # the graph does see imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_type_only_imports_are_edges() -> None:
    """app/middleware.py imports RequestStats for its annotations only."""
    assert "app.metrics" in import_graph(APP)["app.middleware"]


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "cyclic"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "cyclic/__init__.py": "",
                "cyclic/runtime.py": "from cyclic.metrics import Metrics\n",
                "cyclic/metrics.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from cyclic.runtime import Runtime\n"
                ),
            },
            ["cyclic.metrics", "cyclic.runtime", "cyclic.metrics"],
            id="type-only, as runtime.py and metrics.py were",
        ),
        pytest.param(
            {
                "cyclic/__init__.py": "from . import a\n",
                "cyclic/a.py": "def f():\n    from .sub import b\n",
                "cyclic/sub/__init__.py": "",
                "cyclic/sub/b.py": "from .. import a\n",
            },
            ["cyclic.a", "cyclic.sub.b", "cyclic.a"],
            id="relative, inside a function",
        ),
    ],
)
def test_a_cyclic_package_fails(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    graph = import_graph(_write(tmp_path, files))
    assert find_cycle(graph) == expected


def test_an_acyclic_package_passes(tmp_path: Path) -> None:
    """Importing a package's names from its modules is fine while its __init__ imports none."""
    package = _write(
        tmp_path,
        {
            "cyclic/__init__.py": '"""Imports nothing."""\n',
            "cyclic/a.py": "import cyclic.b\nfrom cyclic.b import B\n",
            "cyclic/b.py": "from cyclic import __doc__\nB = 1\n",
        },
    )
    assert find_cycle(import_graph(package)) is None
