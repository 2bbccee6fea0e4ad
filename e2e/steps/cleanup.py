"""(8) Clean-up, whatever happened before: everything the run installed removed, newest first
(left in place with --keep); and, after a failed step, first the pods, events and logs of the
run's namespace that explain it (diagnose)."""

from __future__ import annotations

from e2e.context import Context
from e2e.loaders import kind
from e2e.steps import Step


class CleanUp(Step):
    """Step 8; it runs after a failed step too."""

    number = 8
    name = "clean-up"

    def run(self, ctx: Context) -> None:
        """Uninstall what the run installed, newest first (kept with --keep)."""
        plan, outcome = ctx.plan, ctx.outcome
        if ctx.options.keep:
            print(
                f"  --keep: left namespace {plan.namespace}, releases "
                f"{', '.join(outcome.releases) or 'none'}, the images; remove with: "
                f"{plan.namespace_delete().text()}"
            )
            return
        failures = []
        for release in reversed(outcome.releases):
            result = ctx.shell.run(plan.uninstall(release), timeout=600)
            if not result.ok:
                failures.append(f"helm uninstall {release}: {result.reason()}")
        if outcome.namespace_created:
            result = ctx.shell.run(plan.namespace_delete(), timeout=600)
            if not result.ok:
                failures.append(f"namespace {plan.namespace}: {result.reason()}")
        if outcome.metrics_server_installed:
            ctx.shell.run(plan.metrics_server_uninstall(), timeout=300)
        for target in outcome.built:
            for command in plan.unload(target):
                ctx.shell.run(command, timeout=300)
        if outcome.kind_created:
            ctx.shell.run(kind.delete_cluster(ctx.options.kind_name), timeout=600)
        outcome.problems += [f"clean-up: {failure}" for failure in failures]


def diagnose(ctx: Context) -> None:
    """Pods, events, describe and each pod's last log lines of the run's namespace (a plan
    has no namespace to look into)."""
    if not ctx.outcome.namespace_created or not ctx.shell.measures:
        return
    print("\n--- what the namespace holds (for the failure above) ---")
    for command in ctx.plan.diagnostics():
        result = ctx.shell.run(command, timeout=60)
        print("\n".join((result.stdout + result.stderr).splitlines()[-150:]))
    names = ctx.shell.run(ctx.plan.kubectl("get", "pods", "-o", "name"), quiet=True)
    for pod in names.stdout.split():
        result = ctx.shell.run(ctx.plan.pod_logs(pod.removeprefix("pod/")), timeout=60)
        print((result.stdout + result.stderr).rstrip())
