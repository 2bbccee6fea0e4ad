"""The answer of a report: one headline row per run, the verdict sentence, and the tables.

Pure functions over loaded runs (bench.results.Run). The PDF, the HTML, summary.md and
`bench compare` all print these same tables (headline_table, how_table) and the same sentence,
so they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.report import tables
from bench.report.tables import Table
from bench.results import Run

HEADLINE_HEADER = [
    "target", "capacity at the SLO", "req/s per allotted CPU", "req/s per CPU-second used",
    "p50 / p99 at capacity", "failures", "lower bound",
]  # fmt: skip
HOW_HEADER = ["target", "where", "machine", "CPUs", "versions", "commit", "command"]


@dataclass(frozen=True)
class Headline:  # pylint: disable=too-many-instance-attributes
    """What page 1 says about one run."""

    target: str
    run: str
    slo_p99_ms: float
    users: int | None
    rps: float | None
    rps_per_cpu: float | None
    rps_per_cpu_used: float | None
    p50_ms: float | None
    p99_ms: float | None
    failures: int | None
    failure_ratio: float | None
    lower_bound: bool
    reasons: list[str] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)
    # The target ran a stand-in image, not the real server (meta.json "standin").
    standin: bool = False

    @property
    def limit(self) -> str:
        """Why the figure is a lower bound, in a few words ('' when it is not one)."""
        if not self.lower_bound:
            return ""
        if any("generator" in reason for reason in self.reasons):
            return "the load generator, not the server, was the limit"
        return "the load never reached the server's limit"


def _how(meta: dict[str, Any]) -> dict[str, str]:
    machine = meta.get("machine") or {}
    packages = machine.get("packages") or {}
    memory = machine.get("memory_bytes")
    when = str(meta.get("started_utc") or meta.get("imported_utc") or "")[:16].replace("T", " ")
    where = f"{meta.get('url', '?')}" + (f", {when} UTC" if when else "")
    host = ", ".join(
        part for part in (
            str(machine.get("cpu_model") or "?"),
            f"{machine.get('cpu_cores')} cores" if machine.get("cpu_cores") else "",
            f"{memory / 2**30:.0f} GiB" if memory else "",
            str(machine.get("os") or ""),
        ) if part
    )  # fmt: skip
    if machine.get("note"):
        host = f"imported on {host}"
    server_cpus = meta.get("server_cpus")
    cpus = f"server {server_cpus:g}" if server_cpus else "server: not given"
    if meta.get("server_pinning") not in (None, "external"):
        cpus += f" ({meta['server_pinning']})"
    cpus += f"; load generator {meta.get('loadgen_pinning', '?')}"
    names = {"python": "Python", "locust": "Locust", "fastapi": "FastAPI", "uvicorn": "uvicorn"}
    versions = ", ".join(
        f"{label} {value}"
        for key, label in names.items()
        if (value := machine.get(key) if key == "python" else packages.get(key))
    )
    commit = str(machine.get("git_commit") or "?")[:12]
    if machine.get("git_dirty"):
        commit += " (uncommitted changes)"
    return {
        "where": where,
        "machine": host,
        "CPUs": cpus,
        "versions": versions,
        "commit": commit,
        "command": " ".join(str(part) for part in meta.get("command") or []),
    }


def headline(run: Run) -> Headline:
    """The headline row of one run: its capacity step (find_capacity's choice) and context."""
    step = run.capacity_step
    capacity = run.meta.get("capacity") or {}
    cpus = run.meta.get("server_cpus")
    used = step.server_cpu_percent if step else None
    return Headline(
        target=run.target,
        run=run.path.name,
        slo_p99_ms=run.slo_p99_ms,
        users=step.users if step else None,
        rps=step.rps if step else None,
        rps_per_cpu=step.rps / cpus if step and cpus else None,
        rps_per_cpu_used=step.rps / (used / 100) if step and used else None,
        p50_ms=step.p50_ms if step else None,
        p99_ms=step.p99_ms if step else None,
        failures=step.failures if step else None,
        failure_ratio=step.failure_ratio if step else None,
        lower_bound=bool(capacity.get("lower_bound")),
        reasons=[str(reason) for reason in capacity.get("reasons") or []],
        how=_how(run.meta),
        standin=bool(run.meta.get("standin")),
    )


def headlines(runs: Sequence[Run]) -> list[Headline]:
    """One headline per run, in the order given."""
    return [headline(run) for run in runs]


def mismatch(runs: Sequence[Run]) -> str | None:
    """Why these runs cannot be compared (different SLOs), or None."""
    slos = {(run.slo_p99_ms, run.max_failure_ratio) for run in runs}
    if len(slos) <= 1:
        return None
    described = ", ".join(
        f"{run.path.name} p99 <= {run.slo_p99_ms:g} ms with failures <= {run.max_failure_ratio:g}"
        for run in runs
    )
    return f"runs were measured at different SLOs ({described}); re-run with the same --slo-ms"


def basis(rows: Sequence[Headline]) -> tuple[str, str]:
    """The per-CPU figure every run has: (attribute, words); raw req/s when none is common."""
    measured = [row for row in rows if row.rps is not None]
    if measured and all(row.rps_per_cpu_used for row in measured):
        return "rps_per_cpu_used", "requests per CPU-second used"
    if measured and all(row.rps_per_cpu for row in measured):
        return "rps_per_cpu", "requests per allotted CPU"
    return "rps", "requests/s (CPU not known for every run)"


def _name(row: Headline, rows: Sequence[Headline]) -> str:
    duplicated = sum(other.target == row.target for other in rows) > 1
    name = f"{row.target} ({row.run})" if duplicated else row.target
    return f"{name} (stand-in)" if row.standin else name


def refusal(rows: Sequence[Headline]) -> str | None:
    """Why runs must not be compared at all (one ran a stand-in image), or None."""
    standins = [_name(row, rows) for row in rows if row.standin]
    if len(rows) < 2 or not standins:
        return None
    return (
        f"Comparison REFUSED: {' and '.join(standins)} ran a stand-in image, not the real "
        "server: its figures measure the stand-in, and say nothing of how the servers compare."
    )


def _ratio_words(best: Headline, other: Headline, ratio: float) -> str:
    if best.lower_bound and other.lower_bound:
        return f"{ratio:.2f}×"  # the caveats say both are lower bounds
    if best.lower_bound:
        return f"at least {ratio:.2f}×"
    if other.lower_bound:
        return f"at most {ratio:.2f}×"
    return f"{ratio:.2f}×"


def verdict(rows: Sequence[Headline]) -> str | None:
    """One sentence naming the run that holds the most load per CPU, with caveats; None for 1."""
    if len(rows) < 2:
        return None
    if refused := refusal(rows):
        return refused
    slo = f"p99 ≤ {rows[0].slo_p99_ms:g} ms"
    attribute, words = basis(rows)
    measured = [row for row in rows if getattr(row, attribute) is not None]
    failed = [_name(row, rows) for row in rows if row.rps is None]
    if not measured:
        return f"No run held any step within {slo}."
    ranked = sorted(measured, key=lambda row: getattr(row, attribute), reverse=True)
    best, others = ranked[0], ranked[1:]
    value = getattr(best, attribute)
    figures = " vs ".join(f"{getattr(row, attribute):,.0f}" for row in ranked)
    if not others:
        sentence = f"{_name(best, rows)} is the only run with a step within {slo}."
    elif len(others) == 1:
        other = others[0]
        ratio = _ratio_words(best, other, value / getattr(other, attribute))
        sentence = (
            f"{_name(best, rows)} holds {ratio} the {words} of {_name(other, rows)} "
            f"at {slo} ({figures})."
        )
    else:
        parts = [
            f"{_ratio_words(best, other, value / getattr(other, attribute))} {_name(other, rows)}"
            for other in others
        ]
        sentence = (
            f"{_name(best, rows)} holds the most {words} at {slo} ({figures}): "
            + ", ".join(parts) + "."
        )  # fmt: skip
    caveats = [
        f"{_name(row, rows)}'s figure is a lower bound: {row.limit}"
        for row in ranked if row.lower_bound
    ]  # fmt: skip
    if len([row for row in ranked if row.lower_bound]) > 1:
        caveats.append("with more than one lower bound the ratio is not conclusive")
    caveats += [f"{name} held no step within {slo}" for name in failed]
    if caveats:
        sentence += " Caveat: " + "; ".join(caveats) + "."
    return sentence


def _number(value: float | None, unit: str = "") -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:,.0f}{unit}"


def headline_cells(row: Headline) -> list[str]:
    """The headline table's cells for one run (HEADLINE_HEADER)."""
    if row.rps is None:
        capacity = f"no step within p99 ≤ {row.slo_p99_ms:g} ms"
    else:
        capacity = f"{row.rps:,.0f} req/s at {row.users} users (p99 ≤ {row.slo_p99_ms:g} ms)"
    latency = "n/a" if row.p50_ms is None else f"{row.p50_ms:g} / {row.p99_ms:g} ms"
    failures = "n/a"
    if row.failures is not None:
        failures = f"{row.failures:,} ({row.failure_ratio or 0:.2%})"
    return [
        f"{row.target} (stand-in)" if row.standin else row.target,
        capacity,
        _number(row.rps_per_cpu),
        _number(row.rps_per_cpu_used),
        latency,
        failures,
        f"yes: {row.limit}" if row.lower_bound else "no",
    ]


def how_cells(row: Headline) -> list[str]:
    """Where and how one run was made (HOW_HEADER)."""
    return [row.target, *(row.how.get(column, "") for column in HOW_HEADER[1:])]


def headline_table(rows: Sequence[Headline]) -> Table:
    """Page 1's headline table, one row per run."""
    return Table(
        "Headline", HEADLINE_HEADER, [headline_cells(row) for row in rows], numeric={2, 3},
        widths=[0.2, 0.19, 0.1, 0.11, 0.1, 0.08, 0.22], fontsize=10,
    )  # fmt: skip


def how_table(rows: Sequence[Headline]) -> Table:
    """Page 1's table of where and how each run was made."""
    return Table(
        "Where and how each run was made", HOW_HEADER, [how_cells(row) for row in rows],
        widths=[0.12, 0.15, 0.14, 0.14, 0.13, 0.09, 0.23], fontsize=8,
    )  # fmt: skip


def markdown(rows: Sequence[Headline]) -> list[str]:
    """summary.md's lines: the verdict, the headline table, where and how each run was made."""
    lines = ["# Benchmark summary", ""]
    sentence = lead(rows)
    if sentence:
        lines += [f"**{sentence}**", ""]
    lines += tables.markdown(headline_table(rows))
    how = how_table(rows)
    lines += ["", f"## {how.caption}", ""]
    lines += tables.markdown(how)
    return lines


def lead(rows: Sequence[Headline]) -> str:
    """Page 1's first sentence: the verdict for 2+ runs, the one run's capacity otherwise."""
    sentence = verdict(rows)
    if sentence is not None or not rows:
        return sentence or ""
    row = rows[0]
    name = _name(row, rows)
    if row.rps is None:
        return f"{name} held no step within p99 ≤ {row.slo_p99_ms:g} ms."
    at_least = "at least " if row.lower_bound else ""
    text = (
        f"{name} holds {at_least}{row.rps:,.0f} req/s at p99 ≤ {row.slo_p99_ms:g} ms "
        f"({row.users} users, p99 {row.p99_ms:g} ms)"
    )
    per_cpu = [
        f"{value:,.0f} {words}"
        for value, words in ((row.rps_per_cpu, "per allotted CPU"),
                             (row.rps_per_cpu_used, "per CPU-second used"))
        if value
    ]  # fmt: skip
    if per_cpu:
        text += ": " + ", ".join(per_cpu)
    if row.lower_bound:
        text += f" — a lower bound: {row.limit}"
    return text + "."
