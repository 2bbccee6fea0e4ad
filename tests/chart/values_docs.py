"""The chart's values table, helm-docs style, from values.yaml and its `# --` comments.

`python -m tests.chart.values_docs` prints the table; `--write` puts it in
celsiusify-chart/README.md between its markers. tests/chart/test_docs.py fails when the README's
table is not what this generates, so a key added to values.yaml without a row (or a comment) does
not go unnoticed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "celsiusify-chart"
VALUES = CHART / "values.yaml"
README = CHART / "README.md"
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_.-]*):(?P<rest>.*)$")


def comments(text: str) -> dict[str, str]:
    """Dotted key → its `# --` comment (continuation `#` lines joined), for every key line."""
    found: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    block: list[str] = []
    scalar_indent: int | None = None  # inside a `key: |` block scalar deeper than this
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if scalar_indent is not None:
            if not line.strip() or indent > scalar_indent:
                continue
            scalar_indent = None
        stripped = line.strip()
        if stripped.startswith("# --"):
            block = [stripped.removeprefix("# --").strip()]
            continue
        if stripped.startswith("#"):
            if block:
                block.append(stripped.lstrip("#").strip())
            continue
        match = _KEY.match(line)
        if match is None:
            block = []
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(key for _, key in stack), match.group("key")])
        stack.append((indent, match.group("key")))
        if block:
            found[path] = " ".join(part for part in block if part)
        block = []
        if match.group("rest").strip() in ("|", "|-", ">", ">-"):
            scalar_indent = indent
    return found


def rows(values: Any, documented: dict[str, str], prefix: str = "") -> Iterator[tuple[str, Any]]:
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
    names = {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}
    return names.get(type(value), "null")


def table() -> str:
    text = VALUES.read_text()
    documented = comments(text)
    lines = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for path, default in rows(yaml.safe_load(text), documented):
        shown = json.dumps(default, ensure_ascii=False).replace("|", "\\|").replace("\n", "\\n")
        about = documented.get(path, "").replace("|", "\\|")
        lines.append(f"| `{path}` | {type_name(default)} | `{shown}` | {about} |")
    return "\n".join(lines) + "\n"


def readme_table() -> str:
    text = README.read_text()
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the README's table")
    args = parser.parse_args(argv)
    generated = table()
    if not args.write:
        sys.stdout.write(generated)
        return 0
    before, rest = README.read_text().split(START, 1)
    after = rest.split(END, 1)[1]
    README.write_text(f"{before}{START}\n{generated}{END}{after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
