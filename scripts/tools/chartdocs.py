"""The chart's values table, helm-docs style, from values.yaml and its `# --` comments.

`make chart-docs` (`python scripts/tools/chartdocs.py --write`) puts the table in
celsiusify-chart/README.md between its markers; `--check` exits 1, saying why, when the README's
table is stale, misses a key of values.yaml, has a row without a description, or an empty default
(`""`, `[]`, `{}`, null) lacks a working `Example:` and a `Ref:` link. tests/chart/test_docs.py
runs the same checks.

Conventions, as helm-docs reads them: `# -- text` right above a key documents it, further `#`
lines continue the text; a key with its own comment is one row, its default shown whole; any
other key is broken into its children. Within the text, a line `Example: <YAML>` holds a value
that works for that key and a line `Ref: <URL>` a reference; the table shows them as code and a
link. Plain `#` lines before a `# --` line are for readers of values.yaml only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "celsiusify-chart"
VALUES = CHART / "values.yaml"
README = CHART / "README.md"
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"
HEADER = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_.-]*):(?P<rest>.*)$")
_DOC = re.compile(r"^#\s+--(?:\s+(?P<text>.*))?$")  # `# -- text`; `# --flag` is not one
_BLOCK_SCALAR = ("|", "|-", "|+", ">", ">-", ">+")
EMPTY: tuple[Any, ...] = ("", [], {}, None)


@dataclass(frozen=True)
class Doc:
    """One key's `# --` comment: its text, and its `Example:` and `Ref:` lines if any."""

    text: str
    example: str | None = None
    ref: str | None = None

    @classmethod
    def parse(cls, lines: list[str]) -> Doc:
        """From the comment's lines, `#` and `# --` stripped."""
        text: list[str] = []
        example = ref = None
        for line in lines:
            if line.startswith("Example:"):
                example = line.removeprefix("Example:").strip()
            elif line.startswith("Ref:"):
                ref = line.removeprefix("Ref:").strip()
            elif line:
                text.append(line)
        return cls(" ".join(text), example, ref)

    def markdown(self) -> str:
        """The table's description cell: the text, the example as code, the reference a link."""
        parts = [self.text]
        if self.example is not None:
            parts.append(f"Example: `{self.example}`")
        if self.ref is not None:
            parts.append(f"Ref: <{self.ref}>")
        return " ".join(part for part in parts if part).replace("|", "\\|")


def comments(text: str) -> dict[str, Doc]:
    """Dotted key → its `# --` comment, for every key line that has one."""
    found: dict[str, Doc] = {}
    stack: list[tuple[int, str]] = []
    block: list[str] | None = None
    scalar_indent: int | None = None  # inside a `key: |` block scalar deeper than this
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if scalar_indent is not None:
            if not line.strip() or indent > scalar_indent:
                continue
            scalar_indent = None
        stripped = line.strip()
        doc = _DOC.match(stripped)
        if doc:
            block = [(doc.group("text") or "").strip()]
            continue
        if stripped.startswith("#"):
            if block is not None:
                block.append(stripped.lstrip("#").strip())
            continue
        match = _KEY.match(line)
        if match is None:
            block = None
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(key for _, key in stack), match.group("key")])
        stack.append((indent, match.group("key")))
        if block is not None:
            found[path] = Doc.parse(block)
        block = None
        if match.group("rest").strip() in _BLOCK_SCALAR:
            scalar_indent = indent
    return found


def rows(values: Any, documented: dict[str, Doc], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """helm-docs' rows: a key with its own comment is one row, whole (children in its default);
    any other key is broken into its children, down to leaves (an empty map, a list are leaves)."""
    if prefix in documented or not (isinstance(values, dict) and values):
        yield prefix, values
        return
    for key, value in values.items():
        yield from rows(value, documented, f"{prefix}.{key}" if prefix else str(key))


def leaves(values: Any, prefix: str = "") -> Iterator[str]:
    """Every key path down to leaves, for the check that the table covers them all."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix


def type_name(value: Any) -> str:
    """helm-docs' name for the default's type."""
    names = {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}
    return names.get(type(value), "null")


def table(values_text: str) -> str:
    """The markdown table for a values.yaml text."""
    documented = comments(values_text)
    lines = list(HEADER)
    for path, default in rows(yaml.safe_load(values_text), documented):
        shown = json.dumps(default, ensure_ascii=False).replace("|", "\\|").replace("\n", "\\n")
        about = documented[path].markdown() if path in documented else ""
        lines.append(f"| `{path}` | {type_name(default)} | `{shown}` | {about} |")
    return "\n".join(lines) + "\n"


def readme_table(readme_text: str) -> str:
    """The table between the README's markers."""
    if START not in readme_text or END not in readme_text:
        raise ValueError(f"the README has no {START} … {END} markers")
    return readme_text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def table_rows(markdown: str) -> dict[str, str]:
    """Key → description, from a generated table's rows."""
    found = {}
    for line in markdown.splitlines():
        if line in HEADER or not line.startswith("| `"):
            continue
        found[line.split("`", 2)[1]] = line.rsplit("|", 2)[-2].strip()
    return found


def missing_keys(values_text: str, markdown: str) -> list[str]:
    """Keys of values.yaml that no row of the table covers (itself or a parent)."""
    listed = table_rows(markdown)
    return [
        leaf
        for leaf in leaves(yaml.safe_load(values_text))
        if not any(leaf == row or leaf.startswith(f"{row}.") for row in listed)
    ]


def undocumented(values_text: str) -> list[str]:
    """Rows without a description, and empty defaults without an example and a reference."""
    documented = comments(values_text)
    found = []
    for path, default in rows(yaml.safe_load(values_text), documented):
        doc = documented.get(path)
        if doc is None or not doc.text:
            found.append(f"{path}: no `# --` description")
        elif any(default == empty and type(default) is type(empty) for empty in EMPTY):
            if doc.example is None:
                found.append(f"{path}: empty default without an `Example:` line")
            if doc.ref is None or not doc.ref.startswith("https://"):
                found.append(f"{path}: empty default without a `Ref: https://…` line")
    return found


def problems(values_text: str, readme_text: str) -> list[str]:
    """Everything --check reports; empty when the README's table is current and complete."""
    found = undocumented(values_text)
    current = readme_table(readme_text)
    found += [f"{key}: not in the README's table" for key in missing_keys(values_text, current)]
    if current != table(values_text):
        found.append("the README's table is not what values.yaml generates: make chart-docs")
    return found


def write(values_text: str, readme_text: str) -> str:
    """The README text with its table replaced by the one values.yaml generates."""
    readme_table(readme_text)  # markers present
    before, rest = readme_text.split(START, 1)
    after = rest.split(END, 1)[1]
    return f"{before}{START}\n{table(values_text)}{END}{after}"


def main(argv: list[str] | None = None) -> int:
    """Print the table, or --write it into the README, or --check the README's."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update the README's table")
    mode.add_argument("--check", action="store_true", help="exit 1 if the table is not current")
    parser.add_argument("--values", type=Path, default=VALUES, help="default: %(default)s")
    parser.add_argument("--readme", type=Path, default=README, help="default: %(default)s")
    args = parser.parse_args(argv)
    values_text = args.values.read_text()
    if args.write:
        args.readme.write_text(write(values_text, args.readme.read_text()))
        return 0
    if args.check:
        found = problems(values_text, args.readme.read_text())
        for problem in found:
            print(f"{args.readme}: {problem}", file=sys.stderr)
        return 1 if found else 0
    sys.stdout.write(table(values_text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
