"""bench's seams, read from the source (AST, nothing imported): commands never import each
other, no module takes another's private names, and the imports between bench modules (in its
rooms measure/, analyse/, report/ too) form no cycle. The checker is also run on a small fixture
package that breaks each rule once."""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dispatch(package: Path) -> dict[str, str]:
    """Each command of `python -m bench <command>` and the module it runs (COMMANDS and MODULES
    of __main__.py, read as literals)."""
    names: tuple[str, ...] = ()
    renamed: dict[str, str] = {}
    for node in ast.parse((package / "__main__.py").read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "COMMANDS":
                names = ast.literal_eval(node.value)
            elif node.targets[0].id == "MODULES":
                renamed = ast.literal_eval(node.value)
    return {name: renamed.get(name, name) for name in names}


def commands(package: Path) -> set[str]:
    """The modules `python -m bench <command>` dispatches to."""
    return set(dispatch(package).values())


def module_name(path: Path, package_dir: Path) -> str:
    """A module's dotted name inside the package: `measure.run`; a subpackage's __init__ is the
    subpackage (`measure`)."""
    parts = path.relative_to(package_dir).with_suffix("").parts
    if len(parts) > 1 and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def bench_imports(
    path: Path, package: str, modules: Collection[str] = ()
) -> list[tuple[str, str, int]]:
    """(imported bench module, imported name or '', line) for every import of the package in
    one file, type-only ones included; attribute uses `module._x` count as a name. A name taken
    from the package or a subpackage that is one of `modules` is a module."""
    found: list[tuple[str, str, int]] = []
    aliases: dict[str, str] = {}  # local name -> bench module it is bound to
    prefix = package + "."
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(prefix):
                    found.append((alias.name.removeprefix(prefix), "", node.lineno))
                    if alias.asname:
                        aliases[alias.asname] = alias.name.removeprefix(prefix)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != package and not node.module.startswith(prefix):
                continue
            module = node.module.removeprefix(package).removeprefix(".")
            for alias in node.names:
                submodule = f"{module}.{alias.name}" if module else alias.name
                if not module or submodule in modules:  # from bench[.room] import x: a module
                    found.append((submodule, "", node.lineno))
                    aliases[alias.asname or alias.name] = submodule
                else:
                    found.append((module, alias.name, node.lineno))
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            found.append((aliases[node.value.id], node.attr, node.lineno))
    return found


def seam_violations(package_dir: Path) -> list[str]:
    """Every broken rule, one line each, in file order."""
    package = package_dir.name
    modules = {module_name(path, package_dir): path for path in sorted(package_dir.rglob("*.py"))}
    command_modules = commands(package_dir)
    problems: list[str] = []
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for module, imported, line in bench_imports(path, package, modules):
            where = f"{package}/{path.relative_to(package_dir).as_posix()}:{line}"
            if module != name and module in modules:
                graph[name].add(module)
            private = imported.startswith("_") and not imported.startswith("__")
            if private and module != name:
                problems.append(f"{where} takes private {imported} from {package}.{module}")
            if name in command_modules and module in command_modules and module != name:
                problems.append(f"{where} command {name} imports command {module}")
    problems += [f"{package}: import cycle {' -> '.join(cycle)}" for cycle in cycles(graph)]
    return list(dict.fromkeys(problems))  # one line per import statement


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules that import each other."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            if target in path:
                cycle = [*path[path.index(target) :], target]
                if not any(set(cycle) == set(seen) for seen in found):
                    found.append(cycle)
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return found


def test_bench_keeps_its_seams() -> None:
    assert seam_violations(ROOT / "bench") == []


def test_the_commands_are_read_from_the_dispatcher() -> None:
    found = commands(ROOT / "bench")
    assert {
        "measure.run", "report.report", "analyse.importer", "analyse.compare", "measure.perf",
        "measure.overload",
    } <= found  # fmt: skip
    assert "import" not in found


def test_every_command_is_listed_once_and_opens_with_what_it_does() -> None:
    """The package docstring has one line per command; each command's module opens with
    `python -m bench <command>` and what it does."""
    package = ROOT / "bench"
    listed = [
        line.split()[0]
        for line in (
            ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
        ).splitlines()
        if line.startswith("    ")
    ]
    table = dispatch(package)
    assert sorted(listed) == sorted(table)
    for name, module in table.items():
        path = package / f"{module.replace('.', '/')}.py"
        first = (ast.get_docstring(ast.parse(path.read_text())) or "").splitlines()[0]
        assert first.startswith(f"`python -m bench {name}"), (path, first)
        assert len(first.split("`: ", 1)[-1]) > 20, (path, first)  # it says what it does


def test_the_check_fails_on_a_package_that_breaks_each_rule(tmp_path: Path) -> None:
    package = tmp_path / "bench"
    package.mkdir()
    files = {
        "__main__.py": 'COMMANDS = ("run", "report", "import")\nMODULES = {"import": "importer"}\n',
        "capacity.py": "def _helper():\n    return 1\n",
        "results.py": "SUMMARY_COLUMNS = []\n",
        "run.py": "from bench.results import SUMMARY_COLUMNS\n",
        "report.py": "from bench.run import SUMMARY_COLUMNS, main\n"
        "from bench.capacity import _helper\n",
        "importer.py": "from bench import capacity, run\n\nx = capacity._helper()\n",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bench.b import B\n",
        "b.py": "import bench.a\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    assert seam_violations(package) == [
        "bench/importer.py:1 command importer imports command run",
        "bench/importer.py:3 takes private _helper from bench.capacity",
        "bench/report.py:1 command report imports command run",
        "bench/report.py:2 takes private _helper from bench.capacity",
        "bench: import cycle a -> b -> a",
    ]


def test_the_check_reads_modules_inside_rooms(tmp_path: Path) -> None:
    package = tmp_path / "bench"
    for room in ("measure", "analyse"):
        (package / room).mkdir(parents=True)
        (package / room / "__init__.py").write_text("")
    files = {
        "__main__.py": 'COMMANDS = ("run", "import")\n'
        'MODULES = {"run": "measure.run", "import": "analyse.importer"}\n',
        "analyse/capacity.py": "def _helper():\n    return 1\n",
        "measure/run.py": "from bench.analyse.capacity import _helper\n",
        "analyse/importer.py": "from bench.analyse import capacity\nfrom bench.measure import run\n"
        "\nx = capacity._helper()\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    assert seam_violations(package) == [
        "bench/analyse/importer.py:2 command analyse.importer imports command measure.run",
        "bench/analyse/importer.py:4 takes private _helper from bench.analyse.capacity",
        "bench/measure/run.py:1 takes private _helper from bench.analyse.capacity",
    ]
