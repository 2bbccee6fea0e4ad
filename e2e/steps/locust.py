"""(5) Locust in the cluster: deliveryhero/locust against one target at a time (the Makefile's
flags, e2e/values/locust.yaml, the step shape), the HPA and the workers' CPU recorded meanwhile
(6), the master polled until its shape went through the top step back to zero users, its CSVs
(Locust's own and the share CSV of who answered) copied out."""

from __future__ import annotations

import time

from bench.results import LOADGEN_PODS, last_history_row
from e2e.context import Context
from e2e.errors import StepFailed
from e2e.steps import Step
from e2e.steps.hpa import recording
from targets import Target

POLL_SECONDS = 10.0
# Locust's master waits this long for its workers (locust/values.yaml), then the shape runs.
WORKERS_WAIT_SECONDS = 300


class LoadWithLocust(Step):
    """Step 5 (and 6, the HPA recorded while it runs)."""

    number = 5
    name = "Locust in the cluster, one target at a time; (6) the HPA recorded"

    def run(self, ctx: Context) -> None:
        """Locust against each target in turn, the HPA recorded, the CSVs copied out."""
        plan = ctx.plan
        ctx.must(plan.locust_configmaps(), "Locust ConfigMaps")
        for target in plan.targets:
            args = ctx.locust_make_args(target)
            if target.name in ctx.outcome.server_dry_run:
                print(f"  {target.name}: its Locust release through --dry-run=server only")
                ctx.must(
                    plan.server_dry_run(plan.locust_template(target, args)),
                    f"{target.locust_release} (--dry-run=server)",
                    show=True,
                )
                continue
            print(f"  {target.name}:")
            started = time.monotonic()
            run_locust(ctx, target, args)
            print(f"  {target.name}: Locust done in {time.monotonic() - started:.1f} s")


def run_locust(ctx: Context, target: Target, args: list[str]) -> None:
    """Install, record, wait for the shape, copy the CSVs out, uninstall."""
    plan = ctx.plan
    ctx.outcome.releases.append(target.locust_release)
    ctx.must(plan.locust_install(target, args), f"helm upgrade -i {target.locust_release}",
             timeout=900)  # fmt: skip
    replicas = ctx.work / f"{target.name}-replicas.csv"
    workers = ctx.work / f"{target.name}-{LOADGEN_PODS}"
    with recording(ctx, target, replicas, workers):
        pod = wait_for_shape(ctx, target)
    destination = ctx.out / target.name
    ctx.must(plan.fetch_results(pod, str(destination)), "kubectl cp of the CSVs")
    ctx.must(plan.uninstall(target.locust_release), f"helm uninstall {target.locust_release}")
    ctx.outcome.releases.remove(target.locust_release)
    ctx.shell.copy(replicas, destination / "hpa-replicas.csv")
    ctx.shell.copy(workers, destination / LOADGEN_PODS)
    ctx.outcome.runs[target.name] = destination


def wait_for_shape(ctx: Context, target: Target) -> str:
    """Poll the master until its shape went through the top step back to zero users."""
    plan, shape = ctx.plan, ctx.plan.shape
    pod = ctx.must(plan.master_pod(target), "the Locust master pod",
                   plan_stdout="<master pod>").strip()  # fmt: skip
    print(
        f"  the shape: {shape.steps} steps of {shape.step_seconds} s, "
        f"{shape.start_users} to {shape.top_users} users; polling every {POLL_SECONDS:g} s:"
    )
    ctx.shell.run(plan.master_restarts(target))
    if ctx.shell.run(plan.master_progress(pod)).planned:
        return pod
    deadline = time.monotonic() + WORKERS_WAIT_SECONDS + shape.seconds + 240
    seen_top, first_load = False, None
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        restarts = ctx.shell.run(plan.master_restarts(target), quiet=True).stdout.split()
        if any(count != "0" for count in restarts):
            raise StepFailed("the Locust master restarted: its CSVs started over")
        row = last_history_row(ctx.shell.run(plan.master_progress(pod), quiet=True).stdout)
        if row is None:
            continue
        users = int(float(row.get("User Count") or 0))
        print(
            f"    users={users:>4} rps={float(row.get('Requests/s') or 0):8.1f} "
            f"p99={row.get('99%')} ms failures={row.get('Total Failure Count')}",
            flush=True,
        )
        if users > 0 and first_load is None:
            first_load = time.monotonic()
        seen_top = seen_top or users >= shape.top_users
        late = first_load is not None and time.monotonic() - first_load >= shape.seconds
        if users == 0 and first_load is not None and (seen_top or late):
            return pod
    raise StepFailed(f"the Locust shape did not finish in {shape.seconds} s (+ waits)")
