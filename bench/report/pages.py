"""The report's pages, in order (report.py's docstring lists them): each one PDF figure and the
same content as an HTML section.

The charts are plots.py's; each page's sentences and tables are built here once and go to both
outputs, so the PDF and report.html cannot say different things.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.analyse import autoscaler, headline, planning
from bench.report import replicas
from bench.report.html import Section
from bench.report.plots import (
    PAGE,
    PAGE_TITLES,
    autoscaler_figure,
    cpu_figure,
    curves_figure,
    draw_table,
)
from bench.report.tables import Table
from bench.results import Run, locust_html_path, read_comparison

TITLE = "Celsiusify benchmark report"


@dataclass
class Page:
    """One PDF page and the same content as an HTML section; charts are also PNG files."""

    name: str  # the chart's PNG file name, without .png
    figure: Figure
    section: Section
    chart: bool


# --- page 1 ----------------------------------------------------------------------------------


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
    sentence = " ".join(part for part in (headline.lead(rows), skipped_sentence(runs)) if part)
    wrapped = textwrap.fill(sentence, 105)
    figure.text(
        0.04, 0.86, wrapped, fontsize=13, fontweight="bold", va="top", linespacing=1.4,
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "#eef5ff", "edgecolor": "#1f77b4"},
    )  # fmt: skip
    top = 0.86 - (wrapped.count("\n") + 1) * 13 * 1.45 / 72 / PAGE[1] - 0.05
    tables = [headline.headline_table(rows), headline.how_table(rows)]
    for table in tables:
        figure.text(0.04, top, table.caption, fontsize=11, fontweight="bold", va="bottom")
        top = draw_table(figure, top - 0.01, table) - 0.04
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


def skipped_sentence(runs: Sequence[Run]) -> str:
    """What the comparison folders of these runs skipped and why ('' when nothing)."""
    skipped = []
    for folder in dict.fromkeys(run.path.parent for run in runs if run.in_comparison):
        comparison = read_comparison(folder) or {}
        skipped += [f"{headline.STACK_NAMES.get(target, target)} was not run: {why}."
                    for target, why in (comparison.get("skipped") or {}).items()]  # fmt: skip
    if not skipped:
        return ""
    return "No verdict: " + " ".join(skipped) if len(runs) == 1 else " ".join(skipped)


def _answer_notes(runs: Sequence[Run], rows: Sequence[headline.Headline]) -> list[str]:
    notes = [
        f"{row.target}: lower bound because " + "; ".join(row.reasons) + "."
        for row in rows if row.lower_bound
    ]  # fmt: skip
    notes.append(
        "Per allotted CPU = req/s at capacity / the CPUs the server was given (--server-cpus); "
        "per CPU-second used = req/s / the server's measured CPU (n/a where it was not measured)."
    )
    notes += [
        f"{run.target}: measured against a stand-in (meta.json \"standin\": true), not the real "
        "server: its figures are marked STAND-IN and kept out of any verdict."
        for run in runs if run.standin
    ]  # fmt: skip
    kept = [run.path.name for run in runs if locust_html_path(run.path, run.target).exists()]
    if kept:
        notes.append("Locust's own HTML report is kept next to each run: " + ", ".join(kept) + ".")
    return notes


# --- charts ----------------------------------------------------------------------------------


def _curves(runs: Sequence[Run]) -> Page:
    figure = curves_figure(runs)
    notes = [
        "Points are joined in order of offered load (users), not time. p99 and p50 are Locust's "
        "rolling percentiles at the end of each step; the star is the step find_capacity chose."
    ]
    return Page("curves", figure, Section(PAGE_TITLES["curves"], notes=notes), chart=True)


def _cpu(runs: Sequence[Run]) -> Page:
    figure = cpu_figure(runs)
    notes = [
        "Top: CPU in percent of one core, sampled every second (load generator and local server) "
        "or from the HPA's average per pod × replicas (in-cluster runs, whose load generator is "
        "the busiest Locust worker pod in percent of its CPU limit). Bottom: achieved "
        "requests/s (green) and users (black). A generator near 100 % while the server has CPU "
        "to spare means the generator, not the server, was the limit."
    ]
    if any(run.throttling for run in runs):
        notes.append(
            "Throttled (runs held to a CPU quota): the share of CFS periods in which the server "
            "used its whole quota and was stopped until the next period (cgroup cpu.stat). Near "
            "100 % the server is CPU-bound at its allotment, and a p99 of about one period or "
            "more is the quota's stall, not work waiting in a queue."
        )
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


def _autoscaler(run: Run, name: str) -> Page:
    summary = autoscaler.summarise(run.history, run.replicas or [])
    figure = autoscaler_figure(run, summary)
    facts = _autoscaler_facts(summary)
    table = reaction_table(summary)
    shown = table.rows[:PDF_REACTION_ROWS]
    if len(table.rows) > len(shown):
        facts.append(f"PDF: first {len(shown)} of {len(table.rows)} steps (all in report.html).")
    figure.text(0.04, 0.385, "   ".join(facts), fontsize=9, va="top")
    if shown:
        draw_table(figure, 0.355, table, shown)
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
    draw_table(figure, top, table)
    section = Section(PAGE_TITLES["planning"], notes=notes, tables=[table])
    return Page("planning", figure, section, chart=False)


# --- every page ------------------------------------------------------------------------------


def build_pages(runs: Sequence[Run], sizing: planning.ChartSizing, rate: float) -> list[Page]:
    """Every page of the report, in order (figures open: the caller closes them)."""
    rows = headline.headlines(runs)
    pages = [_answer(runs, rows), _curves(runs), _cpu(runs)]
    recorded = [run for run in runs if run.replicas]
    pages += [
        _autoscaler(run, "autoscaler" if len(recorded) == 1 else f"autoscaler-{index}")
        for index, run in enumerate(recorded, start=1)
    ]
    for index, run in enumerate((run for run in runs if run.share), start=1):
        drawn, section = replicas.page(run)
        pages.append(Page("replicas" if index == 1 else f"replicas-{index}", drawn, section, True))
    pages.append(_planning(rows, sizing, rate))
    return pages
