"""`python -m bench report RUN_DIR [RUN_DIR …]`: PNGs, one PDF and summary.md.

Reads only what `bench run` wrote (meta.json, summary.csv, Locust's stats
history, replicas.csv when present); plotting never measures anything.
"""

from __future__ import annotations

import argparse
import json
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

from bench.capacity import HISTORY_COLUMNS, BenchDataError, read_csv
from bench.run import SUMMARY_COLUMNS

matplotlib.use("Agg")  # files only, never a window (pyplot picks no backend before first use)

PAGE = (11.69, 8.27)  # A4 landscape, inches


@dataclass
class Run:
    """One results folder, loaded and checked."""

    path: Path
    meta: dict[str, Any]
    steps: list[dict[str, str]]
    history: list[dict[str, str]]
    replicas: list[dict[str, str]] | None

    @property
    def label(self) -> str:
        """Target name and folder, for legends."""
        return f"{self.meta.get('target', '?')} ({self.path.name})"

    @property
    def capacity_step(self) -> dict[str, str] | None:
        """The summary row marked as capacity, if any."""
        return next((row for row in self.steps if row["is_capacity"] == "True"), None)


def load_run(path: Path) -> Run:
    """Read a results folder or raise BenchDataError with one clear line."""
    if not path.is_dir():
        raise BenchDataError(f"{path}: not a results folder")
    meta_path = path / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchDataError(f"{meta_path}: file not found") from None
    except ValueError as error:
        raise BenchDataError(f"{meta_path}: not valid JSON ({error})") from None
    if not isinstance(meta, dict) or "target" not in meta:
        raise BenchDataError(f"{meta_path}: no 'target' field")
    steps = read_csv(path / "summary.csv", SUMMARY_COLUMNS)
    history = read_csv(path / f"{meta['target']}_stats_history.csv", HISTORY_COLUMNS)
    replicas_path = path / "replicas.csv"
    replicas = None
    if replicas_path.exists():
        replicas = read_csv(replicas_path, ["timestamp", "current_replicas", "desired_replicas"])
    try:
        for row in steps:
            _ = (float(row["rps"]), float(row["p99_ms"]), int(row["users"]))
    except ValueError as error:
        raise BenchDataError(f"{path / 'summary.csv'}: malformed number ({error})") from None
    return Run(path, meta, steps, history, replicas)


def _text_page(runs: Sequence[Run]) -> Figure:
    figure = plt.figure(figsize=PAGE)
    lines = [
        "Celsiusify benchmark report",
        f"generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC} from {len(runs)} run(s)",
        "",
        "Method: Locust (FastHttpUser, no think time) raises users step by step; every answer is",
        "checked against the formula. Per step: throughput from the change in the request count,",
        "p50/p95/p99 from Locust's rolling window at the step's end. Capacity = the highest-",
        "throughput step with p99 within the SLO and failures within the limit. If the load",
        "generator's CPU went over 90% before the server left the SLO, the figure is a",
        "LOWER BOUND.",
        "",
    ]
    for run in runs:
        meta, machine = run.meta, run.meta.get("machine", {})
        packages = machine.get("packages", {})
        lines += [
            f"[{run.label}]  user class {meta.get('user_class')}, url {meta.get('url')}",
            f"  machine: {machine.get('cpu_model')}, {machine.get('cpu_cores')} cores, "
            f"{(machine.get('memory_bytes') or 0) / 2**30:.0f} GiB, {machine.get('os')}, "
            f"Python {machine.get('python')}, Locust {packages.get('locust')}",
            f"  server pinning: {meta.get('server_pinning')}; load generator: "
            f"{meta.get('loadgen_pinning')}; commit {str(machine.get('git_commit'))[:12]}",
            f"  step load: {meta.get('step_load')}",
        ]
        lines += textwrap.wrap(
            "  HEADLINE: " + str(meta.get("headline")), width=110, subsequent_indent="    "
        )
        lines.append("")
    figure.text(0.04, 0.96, "\n".join(lines), va="top", family="monospace", fontsize=8.5)
    return figure


def _throughput(runs: Sequence[Run]) -> Figure:
    figure, axes = plt.subplots(len(runs), 1, figsize=PAGE, squeeze=False)
    for axis, run in zip(axes[:, 0], runs, strict=True):
        rows = [row for row in run.history if row["Name"] == "Aggregated"]
        start = float(rows[0]["Timestamp"])
        seconds = [float(row["Timestamp"]) - start for row in rows]
        axis.plot(seconds, [float(row["Requests/s"]) for row in rows], label="requests/s")
        axis.set_ylabel("requests/s")
        users_axis = axis.twinx()
        users_axis.step(seconds, [int(row["User Count"]) for row in rows], color="tab:orange",
                        where="post", label="users")  # fmt: skip
        users_axis.set_ylabel("users", color="tab:orange")
        axis.set_title(f"Throughput and users over time: {run.label}")
        axis.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("seconds since start")
    figure.tight_layout()
    return figure


def _latency(runs: Sequence[Run]) -> Figure:
    figure, (by_users, by_rps) = plt.subplots(1, 2, figsize=PAGE)
    for index, run in enumerate(runs):
        color = f"C{index}"
        users = [int(row["users"]) for row in run.steps]
        rps = [float(row["rps"]) for row in run.steps]
        for column, style in (("p50_ms", ":"), ("p95_ms", "--"), ("p99_ms", "-")):
            values = [float(row[column]) for row in run.steps]
            label = f"{run.meta['target']} {column[:3]}"
            by_users.plot(users, values, style, color=color, marker="o", label=label)
            by_rps.plot(rps, values, style, color=color, marker="o", label=label)
    slo = float(runs[0].meta.get("capacity", {}).get("slo_p99_ms", 50))
    for axis, xlabel in ((by_users, "users (offered load)"), (by_rps, "achieved requests/s")):
        axis.axhline(slo, color="red", linewidth=1, label=f"SLO p99 {slo:g} ms")
        axis.set_xlabel(xlabel)
        axis.set_ylabel("latency (ms)")
        axis.grid(alpha=0.3)
    by_users.set_title("Latency percentiles against offered load")
    by_rps.set_title("Latency percentiles against throughput")
    by_users.legend(fontsize=7)
    figure.tight_layout()
    return figure


def capacity_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per run: the capacity figures the comparison shows."""
    rows = []
    for run in runs:
        step = run.capacity_step
        cpus = run.meta.get("server_cpus")
        rps = float(step["rps"]) if step else 0.0
        used = float(step["server_cpu_percent"]) if step and step["server_cpu_percent"] else None
        rows.append({
            "target": run.meta["target"],
            "run": run.path.name,
            "users": int(step["users"]) if step else None,
            "rps": rps,
            "rps_per_cpu": rps / cpus if cpus else None,
            "rps_per_cpu_used": rps / (used / 100) if used else None,
            "p50_ms": float(step["p50_ms"]) if step else None,
            "p95_ms": float(step["p95_ms"]) if step else None,
            "p99_ms": float(step["p99_ms"]) if step else None,
            "lower_bound": bool(run.meta.get("capacity", {}).get("lower_bound")),
        })  # fmt: skip
    return rows


def _fmt(value: Any, pattern: str = "{:,.0f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def _bars(axis: Any, rows: Sequence[dict[str, Any]], key: str, ylabel: str) -> None:
    positions = list(range(len(rows)))
    heights = [row[key] or 0.0 for row in rows]
    drawn = axis.bar(positions, heights, color=[f"C{i}" for i in positions])
    axis.set_xticks(positions, [f"{row['target']}\n{row['run']}" for row in rows])
    for patch, row in zip(drawn, rows, strict=True):
        label = "n/a" if row[key] is None else f"{row[key]:,.0f}"
        note = " (lower bound)" if row["lower_bound"] and row[key] is not None else ""
        top = (patch.get_x() + patch.get_width() / 2, patch.get_height())
        axis.annotate(label + note, top, ha="center", va="bottom", fontsize=8)
    axis.set_ylabel(ylabel)
    axis.tick_params(axis="x", labelsize=6)
    axis.grid(axis="y", alpha=0.3)


def _comparison(rows: Sequence[dict[str, Any]]) -> Figure:
    figure = plt.figure(figsize=PAGE)
    grid = figure.add_gridspec(2, 2, height_ratios=[3, 1.4])
    throughput, per_cpu = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    _bars(throughput, rows, "rps", "requests/s at capacity (p99 within SLO)")
    throughput.set_title("Capacity side by side")
    _bars(per_cpu, rows, "rps_per_cpu", "requests/s per allotted CPU")
    per_cpu.set_title("Load held per CPU")
    table_axis = figure.add_subplot(grid[1, :])
    table_axis.axis("off")
    cells = [
        [row["target"], _fmt(row["users"], "{}"), _fmt(row["rps"]), _fmt(row["rps_per_cpu"]),
         _fmt(row["rps_per_cpu_used"]), _fmt(row["p50_ms"], "{:g}"), _fmt(row["p95_ms"], "{:g}"),
         _fmt(row["p99_ms"], "{:g}"), "yes" if row["lower_bound"] else "no"]
        for row in rows
    ]  # fmt: skip
    table = table_axis.table(
        cells,
        colLabels=["target", "users", "req/s", "req/s per allotted CPU", "req/s per CPU used",
                   "p50 ms", "p95 ms", "p99 ms", "lower bound"],
        colWidths=[0.24, 0.06, 0.09, 0.14, 0.13, 0.07, 0.07, 0.07, 0.09],
        loc="center",
    )  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.6)
    table_axis.set_title("Latency at capacity", fontsize=10)
    figure.tight_layout()
    return figure


def _replicas(runs: Sequence[Run]) -> Figure | None:
    recorded = [run for run in runs if run.replicas]
    if not recorded:
        return None
    figure, axis = plt.subplots(figsize=PAGE)
    for index, run in enumerate(recorded):
        rows = run.replicas or []
        start = float(rows[0]["timestamp"])
        seconds = [float(row["timestamp"]) - start for row in rows]
        for column, style in (("current_replicas", "-"), ("desired_replicas", "--")):
            values = [float(row[column] or "nan") for row in rows]
            axis.step(seconds, values, style, where="post", color=f"C{index}",
                      label=f"{run.meta['target']} {column.split('_', maxsplit=1)[0]}")  # fmt: skip
    axis.set_xlabel("seconds since start")
    axis.set_ylabel("replicas")
    axis.set_title("HPA replicas over time")
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


def write_markdown(path: Path, runs: Sequence[Run], rows: Sequence[dict[str, Any]]) -> None:
    """summary.md: the headline of each run and the capacity table."""
    lines = ["# Benchmark summary", ""]
    for run in runs:
        lines += [f"- **{run.label}**: {run.meta.get('headline')}"]
    lines += [
        "",
        "| target | run | users | req/s | req/s per allotted CPU | req/s per CPU used "
        "| p50 ms | p95 ms | p99 ms | lower bound |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['target']} | {row['run']} | {_fmt(row['users'], '{}')} | {_fmt(row['rps'])} "
            f"| {_fmt(row['rps_per_cpu'])} | {_fmt(row['rps_per_cpu_used'])} "
            f"| {_fmt(row['p50_ms'], '{:g}')} | {_fmt(row['p95_ms'], '{:g}')} "
            f"| {_fmt(row['p99_ms'], '{:g}')} | {'yes' if row['lower_bound'] else 'no'} |"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_report(runs: Sequence[Run], out: Path) -> list[Path]:
    """All outputs into out; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    rows = capacity_rows(runs)
    pages = [
        ("overview", _text_page(runs)),
        ("throughput", _throughput(runs)),
        ("latency", _latency(runs)),
        ("capacity", _comparison(rows)),
    ]
    replicas = _replicas(runs)
    if replicas is not None:
        pages.append(("replicas", replicas))
    written = []
    with PdfPages(out / "report.pdf") as pdf:
        for name, figure in pages:
            pdf.savefig(figure)
            if name != "overview":
                figure.savefig(out / f"{name}.png", dpi=110)
                written.append(out / f"{name}.png")
            plt.close(figure)
    write_markdown(out / "summary.md", runs, rows)
    return [out / "report.pdf", *written, out / "summary.md"]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; 2 with one clear line when an input is missing or malformed."""
    parser = argparse.ArgumentParser(prog="python -m bench report", description=__doc__)
    parser.add_argument("runs", nargs="+", type=Path, help="results folders from `bench run`")
    parser.add_argument("--out", type=Path, help="output folder (default: the run's folder; "
                        "with several runs, results/compare-<UTC timestamp>)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        runs = [load_run(path) for path in args.runs]
    except BenchDataError as error:
        print(f"report: {error}")
        return 2
    out = args.out
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = runs[0].path if len(runs) == 1 else runs[0].path.parent / f"compare-{stamp}"
    for path in write_report(runs, out):
        print(f"report: wrote {path}")
    return 0
