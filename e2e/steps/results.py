"""(7) Import, report and gate: `bench import` of each measured run (with the CPU it was
allowed, the Locust workers' CPU, and a stand-in named), `bench report` over them into the
results folder, then the gate over what was measured and the comparison of the targets
(e2e/gate.py decides both; a dry-run plan measured nothing and is not judged)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from bench.analyse import headline
from bench.measure.hpa import millicores
from bench.results import load_run
from e2e import gate
from e2e.commands import Cmd, cmd
from e2e.context import Context
from e2e.plan import LOCUST_CSV_PREFIX
from e2e.steps import Step
from targets import Target

REPORT_VALUES = "e2e/values/celsiusify.yaml"


class ImportReportGate(Step):
    """Step 7."""

    number = 7
    name = "import, report and gate"

    def run(self, ctx: Context) -> None:
        """bench import of each run, bench report over them; the gate."""
        for target in ctx.live():
            folder = ctx.outcome.runs.get(target.name, ctx.out / target.name)
            ctx.must(bench_import(ctx, target, folder), f"bench import {target.name}",
                     show=True, timeout=300)  # fmt: skip
        runs = [str(ctx.out / t.name) for t in ctx.live()]
        if runs:
            report = cmd(sys.executable, "-m", "bench", "report", *runs, "--out", str(ctx.out),
                         "--values", REPORT_VALUES)  # fmt: skip
            ctx.must(report, "bench report", show=True, timeout=600)
        if ctx.shell.measures:
            judge(ctx)


def bench_import(ctx: Context, target: Target, folder: Path) -> Cmd:
    """`python -m bench import` of one run's CSVs (a subprocess, as a user would run it); it
    finds the workers' CPU (loadgen_pods.csv) and the share CSV in the folder itself."""
    standin = (
        ["--standin", target.standin.description] if target.runs_standin and target.standin else []
    )
    return cmd(
        sys.executable, "-m", "bench", "import", str(folder), "--target", target.name,
        "--csv-prefix", LOCUST_CSV_PREFIX, "--replicas", str(folder / "hpa-replicas.csv"),
        "--server-cpus", f"{allowed_cpus(ctx, target, folder):g}",
        "--slo-ms", f"{ctx.options.slo_ms:g}",
        "--where", f"in-cluster (deliveryhero/locust, make e2e on {ctx.context})", *standin,
    )  # fmt: skip


def allowed_cpus(ctx: Context, target: Target, folder: Path) -> float:
    """CPU the target was allowed: its CPU limit x the most Ready pods recorded."""
    limit = 0.0
    for obj in ctx.render_release(target):
        if obj.get("kind") == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                cpu = (container.get("resources") or {}).get("limits", {}).get("cpu")
                limit += millicores(cpu) or 0.0
    if not ctx.shell.measures:
        print(f"  --server-cpus: {limit / 1000:g} CPU (limit) x the most Ready pods recorded")
        return limit / 1000
    rows = read_rows(folder / "hpa-replicas.csv")
    return max(1, gate.peak_ready_replicas(rows)) * limit / 1000


def judge(ctx: Context) -> None:
    """Wrong answers, the HPA of each gated target under the top step, capacity floors."""
    problems = ctx.outcome.problems
    for target in ctx.live():
        folder = ctx.out / target.name
        for wrong in gate.wrong_answers(read_rows(folder / f"{target.name}_failures.csv")):
            problems.append(f"{target.name}: wrong answers: {wrong}")
        meta = json.loads((folder / "meta.json").read_text())
        window = gate.top_step_window(read_rows(folder / f"{target.name}_stats_history.csv"))
        minimum = min_replicas(ctx, target)
        verdict = gate.hpa_verdict(read_rows(folder / "replicas.csv"), window, minimum)
        ctx.outcome.hpa[target.name] = verdict.describe(minimum)
        print(f"  {target.name}: HPA {verdict.describe(minimum)}")
        if target.hpa_gate and not verdict.went_above:
            problems.append(
                f"{target.name}: the HPA never went above {minimum} replica(s) "
                f"under the top step ({verdict.describe(minimum)})"
            )
        if target.name in ctx.options.floors:
            rps = gate.capacity_rps(meta)
            if problem := gate.floor_problem(target.name, rps, ctx.options.floors[target.name]):
                problems.append(problem)
    for target in ctx.plan.targets:
        if target.hpa_gate and target.name not in ctx.outcome.runs:
            problems.append(f"{target.name}: not measured, so its HPA gate cannot pass")
    compare(ctx)


def compare(ctx: Context) -> None:
    """The targets side by side (e2e/gate.py's comparison), from the imported runs: the verdict,
    and each target's figures with its load generator's CPU."""
    runs = [load_run(ctx.out / target.name) for target in ctx.live()]
    rows = headline.headlines(runs)
    unknown = [run.target for run in runs
               if (run.meta.get("loadgen_cpu_percent") or {}).get("max") is None]  # fmt: skip
    unmeasured = [t.name for t in ctx.plan.targets if t.name not in ctx.outcome.runs]
    ctx.outcome.comparison = gate.comparison(rows, unmeasured, unknown)
    for row, run in zip(rows, runs, strict=True):
        ctx.outcome.figures[row.target] = gate.figures(row, run.meta)
        print(f"  {ctx.outcome.figures[row.target]}")
    print(f"  comparison: {ctx.outcome.comparison.verdict}: {ctx.outcome.comparison.sentence}")


def min_replicas(ctx: Context, target: Target) -> int:
    """The rendered HPA's minReplicas."""
    for obj in ctx.render_release(target):
        if obj.get("kind") == "HorizontalPodAutoscaler":
            return int(obj["spec"].get("minReplicas", 1))
    return 1


def read_rows(path: Path) -> list[dict[str, str]]:
    """A CSV's rows ([] when the file is absent)."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
