"""The project's documentation as the tests read it: README.md and the pages in docs/.

Tests that hold the documentation to its word (the installs it tells users to run, the strings
of deploy.md's "When it fails" table) read the pages that hold that text through `docs_text`,
so text moving between pages changes a page name in the test, not the test.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def docs_text(*names: str) -> str:
    """docs/<name>'s text for each name, in order, one after the other (a missing page raises)."""
    return "\n".join((DOCS / name).read_text() for name in names)
