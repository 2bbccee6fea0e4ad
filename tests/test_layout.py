"""The project's shape, held by tests: how tests share code, and how the documentation is laid out.

Tests share code through tests/helpers only: no module imports a conftest or a test module. A
conftest is pytest's, loaded by folder; a test module is a list of tests. Importing either from
elsewhere ties two folders' tests together through names that look private to their own folder.

The README fits a screen or two and links every page of docs/; every relative link in the README
and in docs/ points to a file that exists, so moving or renaming a file breaks a test, not a link.
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
