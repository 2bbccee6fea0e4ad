"""The report's charts: matplotlib figures over loaded runs (bench.results.Run).

They draw what the results folders hold and decide nothing (the capacity step, the autoscaler's
reactions and scale-out spans come from bench.analyse). pages.py puts each figure on a PDF page
with its sentences and tables; draw_table() is how a Table looks on such a page.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, ScalarFormatter
from matplotlib.transforms import Bbox

from bench.analyse import autoscaler, efficiency
from bench.analyse.capacity import GENERATOR_SATURATED_PERCENT, Step
from bench.report.tables import Table
from bench.results import LOADGEN_PODS_PINNING, Run

matplotlib.use("Agg")  # files only, never a window (pyplot picks no backend before first use)

PAGE = (11.69, 8.27)  # A4 landscape, inches
# Each page's title; a chart carries its page's title as its own.
PAGE_TITLES = {
    "answer": "The answer",
    "curves": "Throughput–latency curves",
    "cpu": "CPU over time: who was the limit",
    "autoscaler": "Autoscaler",
    "planning": "Capacity planning (derived, not measured)",
}


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


# --- a table on a page -----------------------------------------------------------------------


def draw_table(
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


# --- charts ----------------------------------------------------------------------------------


def png(figure: Figure) -> bytes:
    """The figure as the PNG file and the HTML's inline image (110 dpi)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def curves_figure(runs: Sequence[Run]) -> Figure:
    """p50 and p99 against achieved req/s, steps in order of offered load, capacity marked."""
    figure, axis = plt.subplots(figsize=PAGE)
    for index, run in enumerate(runs):
        color, points = f"C{index}", curve(run)
        rps = [step.rps for step in points]
        axis.plot(rps, [s.p99_ms for s in points], "-o", color=color, label=f"{run.name} p99")
        axis.plot(rps, [s.p50_ms for s in points], "--s", color=color, markersize=4, alpha=0.7,
                  label=f"{run.name} p50")  # fmt: skip
        for step in points:
            axis.annotate(f"{step.users}u", (step.rps, step.p99_ms), textcoords="offset points",
                          xytext=(3, 4), fontsize=6.5, color=color)  # fmt: skip
        chosen = run.capacity_step
        if chosen is not None:
            axis.plot([chosen.rps, chosen.rps], [chosen.p50_ms, chosen.p99_ms], "*", color=color,
                      markersize=17, markeredgecolor="black", linestyle="none",
                      label=f"{run.name} capacity: {chosen.rps:,.0f} req/s at {chosen.users} "
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


def _cpu_axis(axis: Any, run: Run) -> None:
    # An external target's CPU can only come from the HPA recording (bench.results.pod_cpu_samples).
    from_pods = run.replicas is not None and run.meta.get("server_pinning") == "external"
    server_label = "pods (HPA recording)" if from_pods else "server"
    loadgen = [(seconds(run, s.timestamp), s.loadgen_percent) for s in run.cpu
               if s.loadgen_percent is not None]  # fmt: skip
    pods = run.meta.get("loadgen_pinning") == LOADGEN_PODS_PINNING
    server = [(seconds(run, s.timestamp), s.server_percent) for s in run.cpu
              if s.server_percent is not None]  # fmt: skip
    if loadgen:
        label = "load generator" + (" (busiest Locust worker, % of its CPU limit)" if pods else "")
        axis.plot(*zip(*loadgen, strict=True), color="tab:red", label=label)
        axis.axhline(GENERATOR_SATURATED_PERCENT, color="tab:red", linestyle=":", linewidth=1,
                     label=f"generator saturated ({GENERATOR_SATURATED_PERCENT:g} %)")  # fmt: skip
    if server:
        axis.plot(*zip(*server, strict=True), color="tab:blue", label=server_label)
    if run.meta.get("server_cpus"):
        axis.axhline(float(run.meta["server_cpus"]) * 100, color="tab:blue", linestyle=":",
                     linewidth=1, label="server's allotted CPU")  # fmt: skip
    if not loadgen and not server:
        axis.text(0.5, 0.5, "no CPU recorded for this run", ha="center", transform=axis.transAxes)
    axis.set_ylabel("CPU (% of one core" + ("; generator: of its limit)" if pods else ")"))
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


def _throttling_axis(axis: Any, run: Run) -> None:
    series = efficiency.per_second(run.throttling)
    if series:
        times = [seconds(run, timestamp) for timestamp, _, _ in series]
        axis.plot(times, [share * 100 for _, share, _ in series], color="tab:purple",
                  label="periods throttled")  # fmt: skip
        period = (run.meta.get("allotment") or {}).get("period_us")
        axis.set_ylabel("throttled (% of " + (f"{period / 1000:g} ms " if period else "")
                        + "periods)", fontsize=8)  # fmt: skip
        axis.legend(fontsize=7, loc="lower right")
    else:
        axis.text(0.5, 0.5, "not held to a CPU quota: no throttling recorded", ha="center",
                  va="center", transform=axis.transAxes, fontsize=8)  # fmt: skip
    axis.set_ylim(0, 105)
    axis.grid(alpha=0.3)


def cpu_figure(runs: Sequence[Run]) -> Figure:
    """Each run's CPU (top) over its load, and, when a run was held to a CPU quota, the share
    of its periods the quota throttled (bottom); one column per run."""
    throttled = any(run.throttling for run in runs)
    ratios = [3, 2, 2] if throttled else [3, 2]
    figure, axes = plt.subplots(len(ratios), len(runs), figsize=PAGE, sharex="col",
                                squeeze=False, gridspec_kw={"height_ratios": ratios})  # fmt: skip
    for column, run in enumerate(runs):
        _cpu_axis(axes[0, column], run)
        _load_axis(axes[1, column], run)
        if throttled:
            _throttling_axis(axes[2, column], run)
        axes[-1, column].set_xlabel("seconds since the run started")
    figure.suptitle(PAGE_TITLES["cpu"], fontsize=14, fontweight="bold")
    figure.tight_layout()
    return figure


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


def autoscaler_figure(run: Run, summary: autoscaler.AutoscalerSummary) -> Figure:
    """Load, replicas and p99 on one time axis, scale-out shaded; the lower half left free."""
    rows = run.replicas or []
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
    return figure
