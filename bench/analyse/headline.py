"""The answer of a report: one headline row per run, the verdict sentence, and the tables.

Pure functions over loaded runs (bench.results.Run). The PDF, the HTML, summary.md and
`bench compare` all print these same tables (headline_table, how_table) and the same sentence,
so they cannot disagree.

Runs held to the same CPU allotment (`make bench`: FastAPI and TF Serving, same quota and
period) are compared per allotted CPU, with both capacities, p50/p99 at capacity and the
CPU-seconds per 1,000 requests at equal load (bench.analyse.efficiency). A stand-in's run
(meta.json "standin", tests/standins/) is never put in a verdict: the sentence says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.analyse import efficiency
from bench.report import tables
from bench.report.tables import Table
from bench.results import Run

HEADLINE_HEADER = [
    "target", "capacity at the SLO", "req/s per allotted CPU", "req/s per CPU-second used",
    "p50 / p99 at capacity", "failures", "lower bound", "CPU-s per 1,000 req at equal load",
    "throttled at capacity",
]  # fmt: skip
# How the verdict names the serving stacks (targets/<name>.json); other targets by their name.
STACK_NAMES = {"celsiusify": "FastAPI", "tfserving": "TF Serving"}
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
    standin: bool = False
    # (cpus, period µs) of the CPU quota the server was held to; None when it was not held.
    allotment: tuple[float, int] | None = None
    # The cost of each step held within the SLO with its CPU measured (efficiency.costs).
    efficiency: tuple[efficiency.Cost, ...] = ()
    throttled_share: float | None = None  # of the quota's periods, at the capacity step

    @property
    def shown(self) -> str:
        """The target as tables show it: marked when it was a stand-in."""
        return f"{self.target} (STAND-IN)" if self.standin else self.target

    @property
    def limit(self) -> str:
        """Why the figure is a lower bound, in a few words ('' when it is not one)."""
        if not self.lower_bound:
            return ""
        if any(reason.startswith("no CPU allotment") for reason in self.reasons):
            return "no CPU allotment: the server had a whole core"
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


def _allotment(meta: dict[str, Any]) -> tuple[float, int] | None:
    held = meta.get("allotment") or {}
    if held.get("method") not in ("cgroup", "docker"):
        return None
    return float(held["cpus"]), int(held["period_us"])


def headline(run: Run) -> Headline:
    """The headline row of one run: its capacity step (find_capacity's choice) and context."""
    step = run.capacity_step
    capacity = run.meta.get("capacity") or {}
    cpus = run.meta.get("server_cpus")
    used = step.server_cpu_percent if step else None
    throttled = None
    if step is not None and run.throttling:
        throttled = efficiency.throttled_share(run.throttling, step.start, step.end)
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
        standin=run.standin,
        allotment=_allotment(run.meta),
        efficiency=tuple(efficiency.costs(run.steps, run.slo_p99_ms, run.max_failure_ratio)),
        throttled_share=throttled,
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


def _ratio_words(best: Headline, other: Headline, ratio: float) -> str:
    if best.lower_bound and other.lower_bound:
        return f"{ratio:.2f}×"  # the caveats say both are lower bounds
    if best.lower_bound:
        return f"at least {ratio:.2f}×"
    if other.lower_bound:
        return f"at most {ratio:.2f}×"
    return f"{ratio:.2f}×"


def stack_name(row: Headline, rows: Sequence[Headline]) -> str:
    """How the verdict names a run: its serving stack (STACK_NAMES), with the folder when two
    runs are of the same target."""
    name = STACK_NAMES.get(row.target, row.target)
    duplicated = sum(other.target == row.target for other in rows) > 1
    return f"{name} ({row.run})" if duplicated else name


def refusal(rows: Sequence[Headline]) -> str | None:
    """Why there is no verdict when a run was made against a stand-in; None when none was."""
    standins = [stack_name(row, rows) for row in rows if row.standin]
    if not standins:
        return None
    its = "its figures measure" if len(standins) == 1 else "their figures measure"
    return (
        f"No verdict: {' and '.join(standins)} answered as a stand-in (the project's test "
        f"double, tests/standins/), not the real server, so {its} the stand-in, not the serving "
        "stack. They are shown below, marked STAND-IN, and no ratio is drawn from them. For TF "
        "Serving: make tf-image, then make bench (or --tfserving-url)."
    )


def same_allotment(rows: Sequence[Headline]) -> tuple[float, int] | None:
    """The (cpus, period µs) every run was held to, when it is the same one; else None."""
    allotments = {row.allotment for row in rows}
    if len(allotments) != 1:
        return None
    return next(iter(allotments))


def equal_load(rows: Sequence[Headline]) -> tuple[int, list[efficiency.Cost]] | None:
    """Each run's cost at the highest step (users) all held within the SLO (efficiency)."""
    return efficiency.equal_load([row.efficiency for row in rows])


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def allotted_verdict(rows: Sequence[Headline], cpus: float) -> str:
    """Two runs held to the same allotment, both with a capacity: who holds more requests per
    allotted CPU, both capacities, p50/p99 at capacity, the cost at equal load, caveats."""
    best, other = sorted(rows, key=lambda row: row.rps or 0.0, reverse=True)
    high, low = best.rps or math.nan, other.rps or math.nan
    slo = f"p99 ≤ {best.slo_p99_ms:g} ms"
    sentence = (
        f"{stack_name(best, rows)} holds {_ratio_words(best, other, high / low)} the requests per "
        f"allotted CPU of {stack_name(other, rows)} at {slo}: {high:,.0f} vs {low:,.0f} req/s "
        f"at capacity in {cpus:g} CPU each ({high / cpus:,.0f} vs {low / cpus:,.0f} req/s per "
        f"allotted CPU; p50/p99 {_ms(best.p50_ms)}/{_ms(best.p99_ms)} ms vs "
        f"{_ms(other.p50_ms)}/{_ms(other.p99_ms)} ms)."
    )
    equal = equal_load([best, other])
    if equal is not None:
        users, (mine, theirs) = equal
        sentence += (
            f" At equal load ({users} users, the highest step both held within the SLO: "
            f"{mine.rps:,.0f} vs {theirs.rps:,.0f} req/s) {stack_name(best, rows)} used "
            f"{mine.cpu_seconds_per_1000:.3f} and {stack_name(other, rows)} "
            f"{theirs.cpu_seconds_per_1000:.3f} CPU-seconds per 1,000 requests."
        )
    else:
        sentence += (" CPU-seconds per 1,000 requests at equal load: n/a (no step both held "
                     "within the SLO with the server's CPU measured).")  # fmt: skip
    bounds = [row for row in (best, other) if row.lower_bound]
    caveats = [f"{stack_name(row, rows)}'s figure is a lower bound: {row.limit}" for row in bounds]
    if len(bounds) > 1:
        caveats.append("with both figures lower bounds the ratio is not conclusive")
    if caveats:
        sentence += " Caveat: " + "; ".join(caveats) + "."
    return sentence


def verdict(rows: Sequence[Headline]) -> str | None:
    """One sentence naming the run that holds the most load per CPU, with caveats; None for 1.
    A stand-in's run gets no verdict (refusal); two runs in the same allotment are compared
    per allotted CPU (allotted_verdict); others on the best per-CPU figure they share."""
    if len(rows) < 2:
        return None
    if sentence := refusal(rows):
        return sentence
    allotment = same_allotment(rows)
    if len(rows) == 2 and allotment is not None and all(row.rps for row in rows):
        return allotted_verdict(rows, allotment[0])
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


def headline_cells(row: Headline, cost: str = "n/a") -> list[str]:
    """The headline table's cells for one run (HEADLINE_HEADER); cost: its CPU-seconds per
    1,000 requests at the rows' equal load."""
    if row.rps is None:
        capacity = f"no step within p99 ≤ {row.slo_p99_ms:g} ms"
    else:
        capacity = f"{row.rps:,.0f} req/s at {row.users} users (p99 ≤ {row.slo_p99_ms:g} ms)"
    latency = "n/a" if row.p50_ms is None else f"{row.p50_ms:g} / {row.p99_ms:g} ms"
    failures = "n/a"
    if row.failures is not None:
        failures = f"{row.failures:,} ({row.failure_ratio or 0:.2%})"
    throttled = "n/a" if row.throttled_share is None else f"{row.throttled_share:.0%} of periods"
    return [
        row.shown,
        capacity,
        _number(row.rps_per_cpu),
        _number(row.rps_per_cpu_used),
        latency,
        failures,
        f"yes: {row.limit}" if row.lower_bound else "no",
        cost,
        throttled,
    ]


def how_cells(row: Headline) -> list[str]:
    """Where and how one run was made (HOW_HEADER)."""
    return [row.shown, *(row.how.get(column, "") for column in HOW_HEADER[1:])]


def headline_table(rows: Sequence[Headline]) -> Table:
    """Page 1's headline table, one row per run."""
    costs = ["n/a"] * len(rows)
    equal = equal_load(rows)
    if len(rows) == 1:  # nothing to be equal to: the cost at its capacity
        at = [cost for cost in rows[0].efficiency if cost.users == rows[0].users]
        costs = [f"{cost.cpu_seconds_per_1000:.3f} at {cost.users} users (capacity)" for cost in at]
        costs = costs or ["n/a"]
    elif equal is not None:
        costs = [f"{cost.cpu_seconds_per_1000:.3f} at {equal[0]} users" for cost in equal[1]]
    return Table(
        "Headline", HEADLINE_HEADER,
        [headline_cells(row, cost) for row, cost in zip(rows, costs, strict=True)],
        numeric={2, 3}, widths=[0.13, 0.15, 0.08, 0.09, 0.09, 0.07, 0.17, 0.12, 0.1], fontsize=9,
    )  # fmt: skip


def how_table(rows: Sequence[Headline]) -> Table:
    """Page 1's table of where and how each run was made."""
    return Table(
        "Where and how each run was made", HOW_HEADER, [how_cells(row) for row in rows],
        widths=[0.12, 0.15, 0.14, 0.14, 0.13, 0.09, 0.23], fontsize=8,
    )  # fmt: skip


def markdown(rows: Sequence[Headline], also: str = "") -> list[str]:
    """summary.md's lines: the verdict (then `also`: what a comparison skipped), the headline
    table, where and how each run was made."""
    lines = ["# Benchmark summary", ""]
    sentence = " ".join(part for part in (lead(rows), also) if part)
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
    if row.standin:
        return refusal(rows) or ""
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
    elif row.allotment is not None:
        text += (f" — server-limited at {row.allotment[0]:g} CPU: a step broke the SLO while the "
                 "load generator had CPU left")  # fmt: skip
    return text + "."
