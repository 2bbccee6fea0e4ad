"""`python -m bench report RUN_DIR [RUN_DIR …]`: report.pdf, report.html, PNGs and summary.md.

Reads only the results folders (bench.results: summary.csv, Locust's stats history, cpu.csv,
replicas.csv, meta.json); plotting never measures or decides anything. Pages, in order:

1. The answer: the verdict (2+ runs) or the run's capacity, the headline table, where and how
   each run was made.
2. Throughput–latency curves: p50 and p99 against achieved req/s, one point per step in order of
   offered load, the SLO, the capacity step find_capacity chose.
3. CPU over time: load generator and server (pods, for in-cluster runs) against the load.
4. Autoscaler (one page per run with replicas.csv): load, replicas and p99 on one time axis,
   reaction times, p99 during scale-out, the highest replica count.
5. Capacity planning, derived from req per CPU-second and the chart's values.

report.html has the same pages (tables as HTML, charts as inline PNGs).
"""

from __future__ import annotations

import argparse
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, ScalarFormatter
from matplotlib.transforms import Bbox

from bench.analyse import autoscaler, headline, planning
from bench.analyse.capacity import GENERATOR_SATURATED_PERCENT, BenchDataError, Step
from bench.report import html
from bench.report.html import Section
from bench.report.tables import Table
from bench.results import Run, load_run, locust_html_path

matplotlib.use("Agg")  # files only, never a window (pyplot picks no backend before first use)

PAGE = (11.69, 8.27)  # A4 landscape, inches
TITLE = "Celsiusify benchmark report"
DEFAULT_RATE = 10_000.0
PAGE_TITLES = {
    "answer": "The answer",
    "curves": "Throughput–latency curves",
    "cpu": "CPU over time: who was the limit",
    "autoscaler": "Autoscaler",
    "planning": "Capacity planning (derived, not measured)",
}


@dataclass
class Page:
    """One PDF page and the same content as an HTML section; charts are also PNG files."""

    name: str  # the chart's PNG file name, without .png
    figure: Figure
    section: Section
    chart: bool


# --- pure helpers the charts use (tested) ----------------------------------------------------


def curve(run: Run) -> list[Step]:
    """The run's steps in order of offered load (users): one point per step."""
    return sorted(run.steps, key=lambda step: step.users)


def seconds(run: Run, timestamp: float) -> float:
    """Seconds since the run's first history row (the common time axis of a run's charts)."""
    return timestamp - float(run.history[0]["Timestamp"])


def _aggregated(run: Run) -> list[dict[str, str]]:
    return [row for row in run.history if row["Name"] == "Aggregated"]


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


# --- page 1 ----------------------------------------------------------------------------------


def _draw_table(
    figure: Figure, top: float, table: Table, rows: Sequence[Sequence[str]] | None = None
) -> float:
    """The table (or these of its rows) with its top edge at `top` (figure fraction), cells
    wrapped to its column widths; returns its bottom."""
    header, cells = table.header, table.rows if rows is None else rows
    widths, fontsize = table.widths, table.fontsize
    # DejaVu Sans averages about 0.56 em per character; keep two for the cell's padding.
    chars = [max(6, int(width * 0.92 * PAGE[0] * 72 / (fontsize * 0.56)) - 2) for width in widths]
    lines = [
        [
            textwrap.fill(cell, width, break_on_hyphens=False) or " "
            for cell, width in zip(line, chars, strict=True)
        ]
        for line in [header, *cells]
    ]
    line_height = fontsize * 1.3 / 72 / PAGE[1]
    heights = [(max(cell.count("\n") + 1 for cell in line) + 0.7) * line_height for line in lines]
    total = sum(heights)
    axis = figure.add_axes((0.04, top - total, 0.92, total))
    axis.axis("off")
    drawn = axis.table(
        cellText=lines[1:], colLabels=lines[0], colWidths=list(widths), cellLoc="left",
        bbox=Bbox.from_bounds(0, 0, 1, 1),
    )  # fmt: skip
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(fontsize)
    for (row, _), cell in drawn.get_celld().items():
        cell.set_height(heights[row])
        cell.set_edgecolor("#bbbbbb")
        if row == 0:
            cell.set_facecolor("#eeeeee")
            cell.get_text().set_fontweight("bold")
    return top - total


def _answer(runs: Sequence[Run], rows: Sequence[headline.Headline]) -> Page:
    figure = plt.figure(figsize=PAGE)
    slo = rows[0].slo_p99_ms
    subtitle = (
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from {len(runs)} run(s). Capacity = "
        f"the highest-throughput load step with p99 ≤ {slo:g} ms and failures ≤ "
        f"{runs[0].max_failure_ratio:.1%}; Locust step load, every answer checked."
    )
    figure.text(0.04, 0.95, TITLE, fontsize=18, fontweight="bold", va="top")
    figure.text(0.04, 0.905, subtitle, fontsize=9, color="#444444", va="top")
    sentence = headline.lead(rows)
    wrapped = textwrap.fill(sentence, 105)
    figure.text(
        0.04, 0.86, wrapped, fontsize=13, fontweight="bold", va="top", linespacing=1.4,
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "#eef5ff", "edgecolor": "#1f77b4"},
    )  # fmt: skip
    top = 0.86 - (wrapped.count("\n") + 1) * 13 * 1.45 / 72 / PAGE[1] - 0.05
    tables = [headline.headline_table(rows), headline.how_table(rows)]
    for table in tables:
        figure.text(0.04, top, table.caption, fontsize=11, fontweight="bold", va="bottom")
        top = _draw_table(figure, top - 0.01, table) - 0.04
    top += 0.04
    notes = _answer_notes(runs, rows)
    figure.text(0.04, top - 0.025, "\n".join(textwrap.fill(n, 175) for n in notes), fontsize=8,
                va="top", color="#333333")  # fmt: skip
    section = Section(
        PAGE_TITLES["answer"],
        lead=sentence,
        notes=notes,
        tables=tables,
    )
    return Page("answer", figure, section, chart=False)


def _answer_notes(runs: Sequence[Run], rows: Sequence[headline.Headline]) -> list[str]:
    notes = [
        f"{row.target}: lower bound because " + "; ".join(row.reasons) + "."
        for row in rows if row.lower_bound
    ]  # fmt: skip
    notes.append(
        "Per allotted CPU = req/s at capacity / the CPUs the server was given (--server-cpus); "
        "per CPU-second used = req/s / the server's measured CPU (n/a where it was not measured)."
    )
    kept = [run.path.name for run in runs if locust_html_path(run.path, run.target).exists()]
    if kept:
        notes.append("Locust's own HTML report is kept next to each run: " + ", ".join(kept) + ".")
    return notes


# --- charts ----------------------------------------------------------------------------------


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def curves_figure(runs: Sequence[Run]) -> Figure:
    """p50 and p99 against achieved req/s, steps in order of offered load, capacity marked."""
    figure, axis = plt.subplots(figsize=PAGE)
    for index, run in enumerate(runs):
        color, points = f"C{index}", curve(run)
        rps = [step.rps for step in points]
        axis.plot(rps, [s.p99_ms for s in points], "-o", color=color, label=f"{run.target} p99")
        axis.plot(rps, [s.p50_ms for s in points], "--s", color=color, markersize=4, alpha=0.7,
                  label=f"{run.target} p50")  # fmt: skip
        for step in points:
            axis.annotate(f"{step.users}u", (step.rps, step.p99_ms), textcoords="offset points",
                          xytext=(3, 4), fontsize=6.5, color=color)  # fmt: skip
        chosen = run.capacity_step
        if chosen is not None:
            axis.plot([chosen.rps, chosen.rps], [chosen.p50_ms, chosen.p99_ms], "*", color=color,
                      markersize=17, markeredgecolor="black", linestyle="none",
                      label=f"{run.target} capacity: {chosen.rps:,.0f} req/s at {chosen.users} "
                            f"users")  # fmt: skip
    slo = runs[0].slo_p99_ms
    axis.axhline(slo, color="red", linewidth=1.2, label=f"SLO: p99 ≤ {slo:g} ms")
    axis.set_xlabel("achieved requests/s (one point per load step, labelled with its users)")
    axis.set_ylabel("latency (ms, log scale)")
    axis.set_yscale("log")
    axis.yaxis.set_major_locator(FixedLocator([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]))
    axis.yaxis.set_major_formatter(ScalarFormatter())
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3)
    figure.suptitle(PAGE_TITLES["curves"], fontsize=14, fontweight="bold")
    figure.tight_layout()
    return figure


def _curves(runs: Sequence[Run]) -> Page:
    figure = curves_figure(runs)
    notes = [
        "Points are joined in order of offered load (users), not time. p99 and p50 are Locust's "
        "rolling percentiles at the end of each step; the star is the step find_capacity chose."
    ]
    return Page("curves", figure, Section(PAGE_TITLES["curves"], notes=notes), chart=True)


def _cpu_axis(axis: Any, run: Run) -> None:
    # An external target's CPU can only come from the HPA recording (bench.results.pod_cpu_samples).
    from_pods = run.replicas is not None and run.meta.get("server_pinning") == "external"
    server_label = "pods (HPA recording)" if from_pods else "server"
    loadgen = [(seconds(run, s.timestamp), s.loadgen_percent) for s in run.cpu
               if s.loadgen_percent is not None]  # fmt: skip
    server = [(seconds(run, s.timestamp), s.server_percent) for s in run.cpu
              if s.server_percent is not None]  # fmt: skip
    if loadgen:
        axis.plot(*zip(*loadgen, strict=True), color="tab:red", label="load generator")
        axis.axhline(GENERATOR_SATURATED_PERCENT, color="tab:red", linestyle=":", linewidth=1,
                     label=f"generator saturated ({GENERATOR_SATURATED_PERCENT:g} %)")  # fmt: skip
    if server:
        axis.plot(*zip(*server, strict=True), color="tab:blue", label=server_label)
    if run.meta.get("server_cpus"):
        axis.axhline(float(run.meta["server_cpus"]) * 100, color="tab:blue", linestyle=":",
                     linewidth=1, label="server's allotted CPU")  # fmt: skip
    if not loadgen and not server:
        axis.text(0.5, 0.5, "no CPU recorded for this run", ha="center", transform=axis.transAxes)
    axis.set_ylabel("CPU (% of one core)")
    axis.set_ylim(bottom=0)
    axis.set_title(
        run.label
        + ("" if server or not loadgen else "\nserver CPU not measured (external target)"),
        fontsize=9,
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower right" if loadgen or server else "best")


def _load_axis(axis: Any, run: Run) -> None:
    rows = _aggregated(run)
    times = [seconds(run, float(row["Timestamp"])) for row in rows]
    axis.plot(times, [_float(row["Requests/s"]) for row in rows], color="tab:green")
    axis.set_ylabel("requests/s", color="tab:green")
    axis.set_ylim(bottom=0)
    users = axis.twinx()
    users.step(times, [int(row["User Count"]) for row in rows], where="post", color="black",
               linewidth=1)  # fmt: skip
    users.set_ylabel("users")
    users.set_ylim(bottom=0)
    axis.grid(alpha=0.3)


def _cpu(runs: Sequence[Run]) -> Page:
    figure, axes = plt.subplots(2, len(runs), figsize=PAGE, sharex="col", squeeze=False,
                                gridspec_kw={"height_ratios": [3, 2]})  # fmt: skip
    for column, run in enumerate(runs):
        _cpu_axis(axes[0, column], run)
        _load_axis(axes[1, column], run)
        axes[1, column].set_xlabel("seconds since the run started")
    figure.suptitle(PAGE_TITLES["cpu"], fontsize=14, fontweight="bold")
    figure.tight_layout()
    notes = [
        "Top: CPU in percent of one core, sampled every second (load generator and local server) "
        "or from the HPA's average per pod × replicas (in-cluster runs). Bottom: achieved "
        "requests/s (green) and users (black). A generator near 100 % while the server has CPU "
        "to spare means the generator, not the server, was the limit."
    ]
    return Page("cpu", figure, Section(PAGE_TITLES["cpu"], notes=notes), chart=True)


PDF_REACTION_ROWS = 10
REACTION_HEADER = [
    "load step (users)", "Ready replicas at the step", "HPA asked for more after",
    "next replica Ready after", "Ready replicas then",
]  # fmt: skip


def reaction_table(summary: autoscaler.AutoscalerSummary) -> Table:
    """The autoscaler page's table: one row per load step."""

    def secs(value: float | None) -> str:
        return "none recorded" if value is None else f"{value:.0f} s"

    cells = [
        [str(item.users), str(item.ready_before), secs(item.decided_after_s),
         secs(item.ready_after_s), "" if item.ready_then is None else str(item.ready_then)]
        for item in summary.reactions
    ]  # fmt: skip
    return Table("Reaction to each load step", REACTION_HEADER, cells,
                 widths=[0.14, 0.2, 0.22, 0.22, 0.22], fontsize=7.5)  # fmt: skip


def _replicas_axis(axis: Any, run: Run, samples: Sequence[autoscaler.ReplicaSample]) -> None:
    times = [seconds(run, sample.timestamp) for sample in samples]
    for values, style, label in (
        ([s.current for s in samples], "-", "current"),
        ([s.desired for s in samples], "--", "desired"),
        ([s.ready for s in samples], ":", "Ready"),
    ):
        axis.step(times, values, style, where="post", label=label, linewidth=1.6)
    axis.set_ylabel("replicas")
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=7, loc="upper left")
    axis.grid(alpha=0.3)


def _autoscaler(run: Run, name: str) -> Page:
    rows = run.replicas or []
    summary = autoscaler.summarise(run.history, rows)
    figure = plt.figure(figsize=PAGE)
    grid = figure.add_gridspec(3, 1, hspace=0.12, top=0.91, bottom=0.47, left=0.07, right=0.93)
    load = figure.add_subplot(grid[0])
    _load_axis(load, run)
    replicas = figure.add_subplot(grid[1], sharex=load)
    _replicas_axis(replicas, run, autoscaler.replica_samples(rows))
    latency = figure.add_subplot(grid[2], sharex=load)
    history = _aggregated(run)
    latency.plot([seconds(run, float(r["Timestamp"])) for r in history],
                 [_float(r["99%"]) for r in history], color="tab:purple", label="p99")  # fmt: skip
    latency.axhline(run.slo_p99_ms, color="red", linewidth=1, label="SLO")
    for start, end in summary.scale_out_spans:
        for axis in (load, replicas, latency):
            axis.axvspan(seconds(run, start), seconds(run, end), color="orange", alpha=0.15)
    for axis in (load, replicas):
        axis.tick_params(labelbottom=False)
    latency.set_ylabel("p99 (ms)")
    latency.set_xlabel("seconds since the run started (shaded: scale-out, desired > Ready)")
    latency.legend(fontsize=7, loc="upper left")
    latency.grid(alpha=0.3)
    figure.suptitle(f"{PAGE_TITLES['autoscaler']}: {run.label}", fontsize=14, fontweight="bold")
    facts = _autoscaler_facts(summary)
    table = reaction_table(summary)
    shown = table.rows[:PDF_REACTION_ROWS]
    if len(table.rows) > len(shown):
        facts.append(f"PDF: first {len(shown)} of {len(table.rows)} steps (all in report.html).")
    figure.text(0.04, 0.385, "   ".join(facts), fontsize=9, va="top")
    if shown:
        _draw_table(figure, 0.355, table, shown)
    section = Section(f"{PAGE_TITLES['autoscaler']}: {run.label}", notes=facts, tables=[table])
    return Page(name, figure, section, chart=True)


def _autoscaler_facts(summary: autoscaler.AutoscalerSummary) -> list[str]:
    during = summary.p99_during_scale_out_ms
    ready = [item.ready_after_s for item in summary.reactions if item.ready_after_s is not None]
    return [
        f"Highest replica count: {summary.highest_replicas} ({summary.highest_ready} Ready).",
        "p99 during scale-out: "
        + ("no scale-out recorded." if during is None else f"up to {during:g} ms."),
        "Fastest step → next Ready replica: "
        + (f"{min(ready):.0f} s, slowest {max(ready):.0f} s." if ready else "none recorded."),
    ]


PLANNING_HEADER = [
    "run", "req per CPU-second (basis)", "one pod at the HPA target", "HPA adds a pod above",
    "replicas for the rate", "maxReplicas caps at", "ceiling at the CPU limit",
]  # fmt: skip


def planning_table(
    rows: Sequence[headline.Headline], sizing: planning.ChartSizing, rate: float
) -> Table:
    """The capacity-planning table, one row per run (n/a without a per-CPU figure)."""
    cells = []
    for row in rows:
        if row.rps_per_cpu_used:
            per_cpu, basis = row.rps_per_cpu_used, "measured CPU used"
        elif row.rps_per_cpu:
            per_cpu, basis = row.rps_per_cpu, "allotted CPU, assumed fully used"
        else:
            cells.append([row.target, "n/a: no CPU figure", "", "", "", "", ""])
            continue
        derived = planning.plan(per_cpu, sizing, rate)
        needed = str(derived.replicas_for_rate)
        if derived.beyond_max_replicas:
            needed += f" (above maxReplicas {sizing.max_replicas})"
        ceiling = derived.max_rate_at_limit
        cells.append([
            row.target,
            f"{per_cpu:,.0f} ({basis})",
            f"{derived.per_pod_at_target:,.0f} req/s",
            f"{derived.per_pod_before_scale_up:,.0f} req/s",
            f"{needed} for {rate:,.0f} req/s",
            f"{derived.max_rate_at_target:,.0f} req/s",
            "n/a" if ceiling is None else f"{ceiling:,.0f} req/s",
        ])  # fmt: skip
    return Table("Derived from each run", PLANNING_HEADER, cells,
                 widths=[0.17, 0.2, 0.12, 0.12, 0.15, 0.12, 0.12], fontsize=10)  # fmt: skip


def _planning(rows: Sequence[headline.Headline], sizing: planning.ChartSizing,
              rate: float) -> Page:  # fmt: skip
    figure = plt.figure(figsize=PAGE)
    figure.text(0.04, 0.95, PAGE_TITLES["planning"], fontsize=14, fontweight="bold", va="top")
    limit = sizing.cpu_limit_millicores
    notes = [
        f"Chart values: {sizing.source}: CPU request {sizing.cpu_request_millicores:g}m, "
        f"limit {'none' if limit is None else f'{limit:g}m'}, HPA target "
        f"{sizing.target_percent:g} % of the request, {sizing.min_replicas}–"
        f"{sizing.max_replicas} replicas. Rate asked for: {rate:,.0f} req/s (--rate).",
        "One pod at the target = req per CPU-second × CPU request × target. The HPA adds a pod "
        f"once a pod passes the target by more than its tolerance ({planning.HPA_TOLERANCE:.0%}, "
        "Kubernetes' default). Replicas for a rate = ceil(rate / one pod at the target). "
        "maxReplicas caps at maxReplicas × one pod at the target: above it pods run past the "
        "target up to the CPU limit (the ceiling).",
        "Derived, not measured: it assumes req per CPU-second holds at every pod's load, that "
        "the load spreads evenly, and that a node has room for every pod.",
    ]
    text = "\n\n".join(textwrap.fill(note, 165) for note in notes)
    figure.text(0.04, 0.9, text, fontsize=9.5, va="top", linespacing=1.3)
    top = 0.9 - (text.count("\n") + 1) * 9.5 * 1.3 * 1.2 / 72 / PAGE[1] - 0.04
    table = planning_table(rows, sizing, rate)
    _draw_table(figure, top, table)
    section = Section(PAGE_TITLES["planning"], notes=notes, tables=[table])
    return Page("planning", figure, section, chart=False)


# --- outputs ---------------------------------------------------------------------------------


def build_pages(runs: Sequence[Run], sizing: planning.ChartSizing, rate: float) -> list[Page]:
    """Every page of the report, in order (figures open: the caller closes them)."""
    rows = headline.headlines(runs)
    pages = [_answer(runs, rows), _curves(runs), _cpu(runs)]
    recorded = [run for run in runs if run.replicas]
    pages += [
        _autoscaler(run, "autoscaler" if len(recorded) == 1 else f"autoscaler-{index}")
        for index, run in enumerate(recorded, start=1)
    ]
    pages.append(_planning(rows, sizing, rate))
    return pages


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
                png = _png(page.figure)
                (out / f"{page.name}.png").write_bytes(png)
                written.append(out / f"{page.name}.png")
                page.section.png = png
            sections.append(page.section)
            plt.close(page.figure)
    subtitle = f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from " + ", ".join(
        run.path.name for run in runs
    )
    (out / "report.html").write_text(html.render(TITLE, subtitle, sections), "utf-8")
    lines = headline.markdown(headline.headlines(runs))
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [out / "report.pdf", out / "report.html", *written, out / "summary.md"]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; 2 with one clear line when an input is missing or malformed."""
    parser = argparse.ArgumentParser(
        prog="python -m bench report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("runs", nargs="+", type=Path, help="results folders from `bench run`")
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
        runs = [load_run(path) for path in args.runs]
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
    for path in write_report(runs, out, sizing, args.rate):
        print(f"report: wrote {path}")
    return 0
