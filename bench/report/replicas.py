"""The report's "Load across replicas" page: who answered, from `<target>_share.csv`.

Per-pod share of the answers over time (stacked, one band per app_identifier), the Ready and
desired replica counts on the same time axis (replicas.csv, when the HPA was recorded), and two
tables: per load step how evenly the answers spread (max/min share, coefficient of variation),
and for every pod that started answering after the run began, how long from Ready until it
served its fair share (1/N ± 20 % over one 5 s interval). A run without the CSV (a target
without an identifier, such as TF Serving, or a run from before it existed) has no such page.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.analyse import autoscaler
from bench.analyse.spread import FAIR_TOLERANCE, ShareSummary, per_interval, summarise
from bench.report.html import Section
from bench.report.plots import PAGE, draw_table, seconds
from bench.report.tables import Table
from bench.results import Run

TITLE = "Load across replicas"
# Bands drawn by name; the rest (a run with many pods) share one "other pods" band.
MAX_BANDS = 12
PDF_ROWS = 8


def share_summary(run: Run) -> ShareSummary:
    """The run's share table summarised (run.share must be set)."""
    rows = [(row.time, row.identifier, row.answers) for row in run.share or []]
    steps = [(step.users, step.start, step.end) for step in run.steps]
    samples = autoscaler.replica_samples(run.replicas or [])
    ready = [(sample.timestamp, sample.ready) for sample in samples]
    return summarise(rows, steps, ready)


def _short(identifier: str) -> str:
    return identifier if len(identifier) <= 14 else identifier[:12] + "…"


def _number(value: float) -> str:
    return "∞" if math.isinf(value) else ("–" if math.isnan(value) else f"{value:.2f}")


def spread_table(summary: ShareSummary) -> Table:
    """Per load step: the pods that answered and how evenly."""
    return Table(
        "How evenly each load step's answers spread over the pods",
        ["load step (users)", "pods answering", "max/min share", "coefficient of variation"],
        [
            [str(s.users), str(s.pods), _number(s.max_over_min), _number(s.cv)]
            for s in summary.steps
        ],
        numeric={0, 1, 2, 3},
        widths=[0.22, 0.2, 0.24, 0.34],
    )


def new_pods_table(run: Run, summary: ShareSummary) -> Table:
    """Every pod added during the run: when it was Ready, answered, and served its share."""

    def moment(value: float) -> str:
        return f"{seconds(run, value):.0f} s"

    rows = [
        [_short(pod.identifier), moment(pod.ready), moment(pod.first_answer),
         "never in the run" if pod.fair_after_s is None else f"{pod.fair_after_s:.0f} s"]
        for pod in summary.new_pods
    ]  # fmt: skip
    header = ["pod (app_identifier)", "Ready at", "first answer at", "fair share after Ready"]
    return Table("Pods added during the run", header, rows, numeric={1, 2, 3},
                 widths=[0.34, 0.2, 0.2, 0.26])  # fmt: skip


def figure(run: Run, summary: ShareSummary) -> Figure:
    """Stacked shares over time above the replica counts; the lower part left for the tables."""
    table = per_interval((row.time, row.identifier, row.answers) for row in run.share or [])
    times = sorted(table)
    named = summary.identifiers[:MAX_BANDS]
    bands = []
    for name in named:
        bands.append([table[t].get(name, 0) / max(sum(table[t].values()), 1) for t in times])
    if len(summary.identifiers) > MAX_BANDS:
        bands.append([1 - sum(band[i] for band in bands) for i in range(len(times))])
    labels = [_short(name) for name in named] + (["other pods"] if len(bands) > len(named) else [])
    drawn = plt.figure(figsize=PAGE)
    grid = drawn.add_gridspec(2, 1, hspace=0.1, top=0.91, bottom=0.5, left=0.07, right=0.8,
                             height_ratios=[2, 1])  # fmt: skip
    shares = drawn.add_subplot(grid[0])
    x = [seconds(run, t) for t in times]
    if x:
        shares.stackplot(x, [[100 * v for v in band] for band in bands], labels=labels,
                         step="post", alpha=0.85)  # fmt: skip
    shares.set_ylabel("share of answers (%)")
    shares.set_ylim(0, 100)
    shares.tick_params(labelbottom=False)
    shares.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    shares.grid(alpha=0.3)
    replicas = drawn.add_subplot(grid[1], sharex=shares)
    samples = autoscaler.replica_samples(run.replicas or [])
    if samples:
        moments = [seconds(run, s.timestamp) for s in samples]
        replicas.step(moments, [s.ready for s in samples], "-", where="post", label="Ready")
        replicas.step(moments, [s.desired for s in samples], "--", where="post",
                      label="HPA desired")  # fmt: skip
        replicas.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        replicas.text(0.5, 0.9, "no HPA recording (replicas.csv) in this run", ha="center",
                      va="top", transform=replicas.transAxes, fontsize=9)  # fmt: skip
    pods = [sum(1 for v in table[t].values() if v) for t in times]
    replicas.step(x, pods, ":", where="post", label="pods answering", color="black")
    replicas.set_ylabel("replicas")
    replicas.set_ylim(bottom=0)
    replicas.set_xlabel("seconds since the run started (5 s intervals)")
    replicas.grid(alpha=0.3)
    drawn.suptitle(f"{TITLE}: {run.label}", fontsize=14, fontweight="bold")
    return drawn


def facts(summary: ShareSummary) -> list[str]:
    """One line each: what the page shows and what it found."""
    lines = [
        f"Answers counted per app_identifier (Locust, every right answer): "
        f"{len(summary.identifiers)} pod(s) answered.",
        f"Fair share: 1/N of the answers ± {FAIR_TOLERANCE:.0%} over one 5 s interval, N the "
        "Ready replicas then.",
    ]
    never = [pod for pod in summary.new_pods if pod.fair_after_s is None]
    if summary.new_pods:
        done = [pod.fair_after_s for pod in summary.new_pods if pod.fair_after_s is not None]
        slowest = f"; the slowest after {max(done):.0f} s" if done else ""
        reached = len(summary.new_pods) - len(never)
        lines.append(
            f"{len(summary.new_pods)} pod(s) added during the run; {reached} reached their fair "
            f"share{slowest}."
        )
    if never:
        lines.append(
            "A pod that never reached its share while Ready is the keep-alive pinning: clients "
            "keep their connections (docs/configuration.md, connection life)."
        )
    return lines


def page(run: Run) -> tuple[Figure, Section]:
    """The page's figure and its HTML section."""
    summary = share_summary(run)
    drawn = figure(run, summary)
    notes = facts(summary)
    tables = [spread_table(summary), new_pods_table(run, summary)]
    drawn.text(0.04, 0.44, "   ".join(notes), fontsize=8.5, va="top", wrap=True)
    top = 0.36
    for table in tables:
        if table.rows:
            top = draw_table(drawn, top, table, table.rows[:PDF_ROWS]) - 0.03
    return drawn, Section(f"{TITLE}: {run.label}", notes=notes, tables=tables)
