"""`python -m bench {run,report,perf,import} …`: each sub-command is a module with main(argv)."""

from __future__ import annotations

import importlib
import sys

COMMANDS = ("run", "report", "perf", "import", "compare", "overload")
MODULES = {"import": "importer"}  # `import` is a keyword, not a module name


def main(argv: list[str]) -> int:
    """Dispatch to the sub-command's own main(); heavy imports stay in that module."""
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m bench {{{','.join(COMMANDS)}}} [options]  (-h for help)")
        return 2
    module = importlib.import_module(f"bench.{MODULES.get(argv[0], argv[0])}")
    status: int = module.main(argv[1:])
    return status


sys.exit(main(sys.argv[1:]))
