"""The project's shape, held by tests: how tests share code, and how the documentation is laid out.

Tests share code through tests/helpers only: no module imports a conftest or a test module. A
conftest is pytest's, loaded by folder; a test module is a list of tests. Importing either from
elsewhere ties two folders' tests together through names that look private to their own folder.

The README fits a screen or two and links every page of docs/; every relative link in the README
and in docs/ points to a file that exists, so moving or renaming a file breaks a test, not a link.

The code's layout: no module of app/, bench/ or e2e/ over MAX_LINES lines unless named with
its reason, and the in-cluster run (`python -m e2e`) only in its own package, e2e/.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers.docs import DOCS, README, ROOT

TESTS = Path(__file__).resolve().parent
README_MAX_LINES = 160  # the target is 150; the margin keeps a small edit from failing
FIRST_SCREEN = 24  # lines: where a newcomer must find the two commands
# An inline Markdown link: [text](target) or [text](target "title").
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCED_BLOCK = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`[^`\n]*`")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


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


def relative_links(text: str) -> list[str]:
    """Targets of the page's inline links into the repository: no scheme, not only an anchor,
    not inside code (a command such as `$(ls …)` is not a link)."""
    prose = CODE_SPAN.sub("", FENCED_BLOCK.sub("", text))
    return [
        target
        for target in LINK.findall(prose)
        if not SCHEME.match(target) and not target.startswith("#")
    ]


def broken_links(page: Path) -> list[str]:
    """The relative links of page whose file (fragment dropped) does not exist beside it."""
    return [
        target
        for target in relative_links(page.read_text())
        if not (page.parent / target.split("#", 1)[0]).exists()
    ]


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def test_the_readme_fits_a_screen_or_two() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines: move detail to docs/"
    first_screen = "\n".join(lines[:FIRST_SCREEN])
    assert "make bench" in first_screen
    assert "make test" in first_screen


def test_the_readme_links_every_page_of_docs() -> None:
    linked = {
        (ROOT / target.split("#", 1)[0]).resolve() for target in relative_links(README.read_text())
    }
    assert doc_pages(), "docs/ has no pages"
    unlinked = [page.name for page in doc_pages() if page.resolve() not in linked]
    assert not unlinked, f"link these from README.md: {unlinked}"


def test_every_relative_link_points_to_a_file() -> None:
    broken = {
        str(page.relative_to(ROOT)): targets
        for page in [README, *doc_pages()]
        if (targets := broken_links(page))
    }
    assert not broken, f"links to files that do not exist: {broken}"


def test_the_link_check_fails_on_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "deploy.md").write_text("# Deploy\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[deploy](docs/deploy.md), [gone](docs/gone.md#usage), [web](https://example.com), "
        '[top](#top), [titled](docs/old.md "Old")\n'
        "`[span](nowhere.md)`\n```bash\n[block](nowhere.md)\n```\n"
    )
    assert broken_links(page) == ["docs/gone.md#usage", "docs/old.md"]


# --- the code's layout: small modules, e2e in its own package ---------------------------------

MAX_LINES = 450
# Folders whose modules are held to MAX_LINES.
SIZED = ("app", "bench", "e2e")
# Modules allowed past MAX_LINES, each with why.
LONG_MODULES = {
    "bench/results.py": "the one owner of the results folder's format: every file's name, "
    "columns, reader and writer in one place, so commands never import each other",
    "app/protocol.py": "one class, uvicorn's protocol with its limits (head size, time limits, "
    "connections, shedding, draining): they share per-connection state and one hot path",
}


def long_modules(root: Path, folders: tuple[str, ...], limit: int) -> dict[str, int]:
    """path → line count of every Python module under the folders longer than `limit`."""
    found = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found[path.relative_to(root).as_posix()] = lines
    return found


def test_no_module_is_over_the_line_limit_unless_named_with_a_reason() -> None:
    found = long_modules(ROOT, SIZED, MAX_LINES)
    unexplained = {path: lines for path, lines in found.items() if path not in LONG_MODULES}
    assert not unexplained, f"split these, or name them in LONG_MODULES with why: {unexplained}"
    stale = sorted(set(LONG_MODULES) - set(found))
    assert not stale, f"{stale}: no longer over {MAX_LINES} lines; drop them from LONG_MODULES"


def test_the_line_limit_check_sees_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "pkg" / "small.py").write_text("x = 1\n" * MAX_LINES)
    assert long_modules(tmp_path, ("pkg",), MAX_LINES) == {"pkg/big.py": MAX_LINES + 1}


def e2e_outside_its_package(root: Path) -> list[str]:
    """Modules of the in-cluster run left anywhere in bench/ (e2e*.py or an e2e package)."""
    return sorted(path.relative_to(root).as_posix() for path in (root / "bench").rglob("e2e*"))


def test_e2e_code_lives_only_in_the_e2e_package() -> None:
    assert e2e_outside_its_package(ROOT) == []
    assert (ROOT / "e2e" / "__main__.py").is_file()  # python -m e2e


def test_the_e2e_check_sees_a_module_left_in_bench(tmp_path: Path) -> None:
    (tmp_path / "bench" / "measure").mkdir(parents=True)
    (tmp_path / "bench" / "e2e_plan.py").write_text("")
    (tmp_path / "bench" / "measure" / "e2e.py").write_text("")
    (tmp_path / "bench" / "run.py").write_text("")
    assert e2e_outside_its_package(tmp_path) == ["bench/e2e_plan.py", "bench/measure/e2e.py"]
