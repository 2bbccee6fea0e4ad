"""Tests share code through tests/helpers only: no module imports a conftest or a test module.

A conftest is pytest's, loaded by folder; a test module is a list of tests. Importing
either from elsewhere ties two folders' tests together through names that look
private to their own folder (issue 15, point 5).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def is_test_or_conftest(module: str) -> bool:
    """True for `tests.….conftest` and `tests.….test_*`."""
    parts = module.split(".")
    return parts[0] == "tests" and (parts[-1] == "conftest" or parts[-1].startswith("test_"))


def shared_imports(path: Path) -> set[str]:
    """The conftest and test modules a file imports (`from tests.x import conftest` too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found |= {name for name in names if is_test_or_conftest(name)}
    return found


def test_the_rule_sees_both_kinds() -> None:
    assert is_test_or_conftest("tests.conftest")
    assert is_test_or_conftest("tests.chart.test_chart")
    assert not is_test_or_conftest("tests.helpers.server")
    assert not is_test_or_conftest("bench.conftest")


def test_no_module_imports_a_conftest_or_a_test_module() -> None:
    offenders = {
        str(path.relative_to(TESTS)): sorted(imported)
        for path in sorted(TESTS.rglob("*.py"))
        if (imported := shared_imports(path))
    }
    assert not offenders, f"import these from tests/helpers instead: {offenders}"


def test_the_check_would_fail_on_the_old_import(tmp_path: Path) -> None:
    """What tests/docker/test_image.py once did."""
    module = tmp_path / "test_image.py"
    module.write_text("from tests.app.test_server import _open_slow_request\n")
    assert shared_imports(module) == {"tests.app.test_server"}
