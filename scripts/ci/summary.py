"""Summarise a pytest JUnit XML report for .ci/run, and total the summaries of a run.

    python scripts/ci/summary.py suite REPORT.xml LABEL --tally FILE [--no-skips]
    python scripts/ci/summary.py total --tally FILE

`suite` prints how many tests ran, were skipped and failed (overall and for the folders whose
skips matter: tests/docker, tests/cluster), every skip with its reason, and appends one line
"passed failed skipped" to the tally. It exits 1 when no test ran at all (a suite that
silently collects nothing is a failure, not a pass) and, with --no-skips, when any test skipped.
`total` prints the sums over the tally.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

FOLDERS = ("tests.docker", "tests.cluster")


def suite(report: Path, label: str, tally: Path, no_skips: bool) -> int:
    # pytest wrote it moments ago in this run: not untrusted input.
    root = ET.parse(report).getroot()  # noqa: S314
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cases = [case for s in suites for case in s.iter("testcase")]
    total = sum(int(s.get("tests", "0")) for s in suites)
    skipped = sum(int(s.get("skipped", "0")) for s in suites)
    failed = sum(int(s.get("failures", "0")) + int(s.get("errors", "0")) for s in suites)
    ran = total - skipped
    print(f"\nci: {label}: {ran} tests ran, {skipped} skipped, {failed} failed")
    with tally.open("a", encoding="utf-8") as out:
        out.write(f"{ran - failed} {failed} {skipped}\n")
    for folder in FOLDERS:
        mine = [c for c in cases if c.get("classname", "").startswith(folder)]
        if mine:
            folder_skipped = sum(c.find("skipped") is not None for c in mine)
            name = folder.replace(".", "/")
            ran_here = len(mine) - folder_skipped
            print(f"ci: {label}: {name}: {ran_here} ran, {folder_skipped} skipped")
    for case in cases:
        skip = case.find("skipped")
        if skip is not None:
            where = f"{case.get('classname')}.{case.get('name')}"
            print(f"ci: SKIPPED {where}: {skip.get('message')}")
    if ran == 0:
        print(f"ci: {label}: no test ran", file=sys.stderr)
        return 1
    if no_skips and skipped:
        print(f"ci: {label}: {skipped} skipped where every test must run", file=sys.stderr)
        return 1
    return 0


def total(tally: Path) -> int:
    sums = [0, 0, 0]
    for line in tally.read_text(encoding="utf-8").splitlines():
        for i, value in enumerate(line.split()):
            sums[i] += int(value)
    print(f"ci: {sums[0]} passed, {sums[1]} failed, {sums[2]} skipped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("suite", help="summarise one JUnit report")
    one.add_argument("report", type=Path)
    one.add_argument("label")
    one.add_argument("--tally", type=Path, required=True)
    one.add_argument("--no-skips", action="store_true", help="fail when any test skipped")
    every = commands.add_parser("total", help="sum the tally")
    every.add_argument("--tally", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "suite":
        return suite(args.report, args.label, args.tally, args.no_skips)
    return total(args.tally)


if __name__ == "__main__":
    sys.exit(main())
