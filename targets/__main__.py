"""Print a target's field for the Makefile: `python -m targets FIELD NAME` (or `names`).

Lists print space-separated, None prints empty, booleans as 1/0 (make-friendly). An unknown
target or field is one line on stderr and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import fields

from targets import Target, TargetError, all_targets, get


def show(value: object) -> str:
    """A field's value as make reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return " ".join(str(item) for item in value)
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    known = [field.name for field in fields(Target)] + ["service", "image_name", "locust_release"]
    try:
        if args == ["names"]:
            print(" ".join(all_targets()))
            return 0
        if len(args) != 2 or args[0] not in known:
            print(f"usage: python -m targets names | python -m targets FIELD NAME "
                  f"(FIELD: {', '.join(known)})", file=sys.stderr)  # fmt: skip
            return 2
        print(show(getattr(get(args[1]), args[0])))
    except TargetError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
