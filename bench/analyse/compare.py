"""`python -m bench compare RUN_DIR RUN_DIR …`: the verdict and the headline table, in a terminal.

The same sentence and rows as page 1 of `bench report` (bench.analyse.headline); `--markdown` prints
them as summary.md has them. Runs measured at different SLOs are refused. A comparison folder
(`make bench`, results/<UTC>-compare) stands for its runs; when it holds one run (TF Serving
skipped), that run's figure is printed with the reason the other was skipped.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.analyse import headline
from bench.analyse.capacity import BenchDataError
from bench.report import tables
from bench.results import load_run, read_comparison, run_folders


def main(argv: Sequence[str] | None = None) -> int:
    """Print the comparison; 2 with one clear line on bad input."""
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__)
    parser.add_argument("runs", nargs="+", type=Path,
                        help="results folders (two or more), or one comparison folder")  # fmt: skip
    parser.add_argument("--markdown", action="store_true", help="print markdown (summary.md)")
    args = parser.parse_args(argv)
    try:
        comparisons = [read_comparison(path) for path in args.runs if path.is_dir()]
        runs = [load_run(path) for folder in args.runs for path in run_folders(folder)]
    except BenchDataError as error:
        print(f"compare: {error}")
        return 2
    skipped = [
        f"{headline.STACK_NAMES.get(target, target)} was not run: {why}."
        for comparison in comparisons if comparison
        for target, why in comparison.get("skipped", {}).items()
    ]  # fmt: skip
    if len(runs) < 2 and not skipped:
        print("compare: give two or more results folders (one run: python -m bench report DIR)")
        return 2
    if problem := headline.mismatch(runs):
        print(f"compare: {problem}")
        return 2
    rows = headline.headlines(runs)
    if args.markdown:
        print("\n".join(headline.markdown(rows)))
        return 0
    print(headline.lead(rows))
    if skipped:
        print(("No verdict: " if len(runs) == 1 else "") + " ".join(skipped))
    print()
    print("\n".join(tables.text(headline.headline_table(rows))))
    print()
    for row in rows:
        print(f"{row.target} ({row.run}):")
        for column in headline.HOW_HEADER[1:]:
            print(f"  {column + ':':<9} {row.how.get(column, '')}")
    return 0
