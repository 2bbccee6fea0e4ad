"""`python -m bench <command> …`: each command is a module with main(argv) (bench/__init__.py)."""

from __future__ import annotations

import importlib
import sys

COMMANDS = ("stacks", "run", "report", "perf", "import", "compare", "overload", "hpa")
# Where each command's module lives, under bench/ (`import` is a keyword, not a module name).
MODULES = {
    "stacks": "measure.stacks",
    "run": "measure.run",
    "report": "report.report",
    "perf": "measure.perf",
    "import": "analyse.importer",
    "compare": "analyse.compare",
    "overload": "measure.overload",
    "hpa": "measure.record_hpa",
}


def main(argv: list[str]) -> int:
    """Dispatch to the command's own main(); heavy imports stay in that module."""
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m bench {{{','.join(COMMANDS)}}} [options]  (-h for help)")
        return 2
    module = importlib.import_module(f"bench.{MODULES.get(argv[0], argv[0])}")
    status: int = module.main(argv[1:])
    return status


sys.exit(main(sys.argv[1:]))
