"""`python -m bench report RUN_DIR [RUN_DIR …]`: report.pdf, report.html, PNGs and summary.md.

Reads only the results folders (bench.results: summary.csv, Locust's stats history, cpu.csv,
throttling.csv, replicas.csv, meta.json; a comparison folder's comparison.json); plotting never
measures or decides anything. Pages, in order:

1. The answer: the verdict (2+ runs; refused for a stand-in) or the run's capacity, the
   headline table, where and how each run was made, what a comparison skipped and why.
2. Throughput–latency curves: p50 and p99 against achieved req/s, one point per step in order of
   offered load, the SLO, the capacity step find_capacity chose.
3. CPU over time: load generator and server (pods, for in-cluster runs) against the load, and
   the share of CFS periods the server's quota throttled (runs held to an allotment).
4. Autoscaler (one page per run with replicas.csv): load, replicas and p99 on one time axis,
   reaction times, p99 during scale-out, the highest replica count.
5. Capacity planning, derived from req per CPU-second and the chart's values.

report.html has the same pages (tables as HTML, charts as inline PNGs). The pages are
pages.py's, their charts plots.py's; this module writes the files.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages

from bench.analyse import headline, planning
from bench.analyse.capacity import BenchDataError
from bench.report import html, plots
from bench.report.pages import TITLE, build_pages, skipped_sentence
from bench.results import Run, load_run, read_comparison, run_folders

DEFAULT_RATE = 10_000.0


def write_report(
    runs: Sequence[Run], out: Path, sizing: planning.ChartSizing | None = None,
    rate: float = DEFAULT_RATE,
) -> list[Path]:  # fmt: skip
    """All outputs into out; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    pages = build_pages(runs, sizing or planning.load_sizing(None), rate)
    written, sections = [], []
    with plt.rc_context({"pdf.fonttype": 42}), PdfPages(out / "report.pdf") as pdf:
        for page in pages:
            pdf.savefig(page.figure)
            if page.chart:
                png = plots.png(page.figure)
                (out / f"{page.name}.png").write_bytes(png)
                written.append(out / f"{page.name}.png")
                page.section.png = png
            sections.append(page.section)
            plt.close(page.figure)
    subtitle = f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from " + ", ".join(
        run.path.name for run in runs
    )
    (out / "report.html").write_text(html.render(TITLE, subtitle, sections), "utf-8")
    lines = headline.markdown(headline.headlines(runs), skipped_sentence(runs))
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [out / "report.pdf", out / "report.html", *written, out / "summary.md"]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; 2 with one clear line when an input is missing or malformed."""
    parser = argparse.ArgumentParser(
        prog="python -m bench report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "runs", nargs="+", type=Path,
        help="results folders from `bench run`, or a comparison folder from `make bench` "
        "(results/<UTC>-compare: its runs, and the report goes inside it)",
    )  # fmt: skip
    parser.add_argument(
        "--out",
        type=Path,
        help="output folder (default: the run's folder; "
        "with several runs, results/compare-<UTC timestamp>)",
    )
    parser.add_argument(
        "--values",
        type=Path,
        help="Helm values file for capacity planning (default: celsiusify-chart/values.yaml)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help="req/s to size the deployment for (default %(default)g)",
    )
    args = parser.parse_args(argv)
    try:
        runs = [load_run(path) for folder in args.runs for path in run_folders(folder)]
        sizing = planning.load_sizing(args.values)
    except (BenchDataError, planning.ValuesError) as error:
        print(f"report: {error}")
        return 2
    if problem := headline.mismatch(runs):
        print(f"report: {problem}")
        return 2
    out = args.out
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = runs[0].path if len(runs) == 1 else runs[0].path.parent / f"compare-{stamp}"
        if len(args.runs) == 1 and read_comparison(args.runs[0]) is not None:
            out = args.runs[0]
    for path in write_report(runs, out, sizing, args.rate):
        print(f"report: wrote {path}")
    return 0
