"""(4) Releases: the run's own namespace; the check that the releases at maxReplicas and one
Locust release fit the CPU the cluster has free; both releases (same chart) installed with
--wait and `helm test` each (a target stopped at its image: its objects through
`kubectl apply --dry-run=server`)."""

from __future__ import annotations

import json

from e2e import gate
from e2e.commands import cmd
from e2e.context import Context
from e2e.errors import StepFailed
from e2e.steps import Step


class Releases(Step):
    """Step 4."""

    number = 4
    name = "releases and helm test"

    def run(self, ctx: Context) -> None:
        """The namespace, the CPU check, both releases with --wait, helm test each."""
        plan = ctx.plan
        for command in plan.namespace_create():
            # Shown: kubectl's "namespace/<name> labeled" is the record that the run's namespace
            # enforces Pod Security "restricted".
            ctx.must(command, "namespace", show=True)
            ctx.outcome.namespace_created = True
        check_cpu(ctx)
        for target in plan.targets:
            if target.name in ctx.outcome.server_dry_run:
                ctx.must(
                    plan.server_dry_run(plan.release_template(target)),
                    f"{target.release} (--dry-run=server)",
                    show=True,
                )
                continue
            ctx.outcome.releases.append(target.release)
            ctx.must(plan.release_install(target), f"helm upgrade -i {target.release}",
                     timeout=900)  # fmt: skip
            ctx.must(plan.release_test(target), f"helm test {target.release}", timeout=600,
                     show=True)  # fmt: skip


def peak_request(ctx: Context) -> float:
    """Millicores the run requests at its peak: every live release at maxReplicas, and the
    larger of the Locust releases (they run one at a time)."""
    need = 0.0
    for target in ctx.live():
        need += sum(gate.peak_cpu_requests(ctx.render_release(target)).values())
    if repo := ctx.plan.locust_repo_add():
        ctx.must(repo, "helm repo add deliveryhero")
    locust = (
        ctx.render(t.locust_release, ctx.plan.locust_template(t, ctx.locust_make_args(t)))
        for t in ctx.live()
    )
    return need + max((sum(gate.peak_cpu_requests(o).values()) for o in locust), default=0.0)


def check_cpu(ctx: Context) -> None:
    """The run's CPU requests at their peak against the CPU the cluster has free, so no pod
    the HPA adds stays Pending."""
    need = peak_request(ctx)
    kubectl = ctx.plan.tools.kubectl
    nodes = ctx.shell.run(cmd(kubectl, "get", "nodes", "-o", "json"))
    pods = ctx.shell.run(cmd(kubectl, "get", "pods", "--all-namespaces", "-o", "json"))
    if nodes.planned or pods.planned:
        print(
            f"  the run requests {need:.0f}m CPU at its peak; checked against the "
            "allocatable CPU the nodes have free"
        )
        return
    if not nodes.ok or not pods.ok:
        raise StepFailed(f"kubectl get nodes/pods: {(nodes if not nodes.ok else pods).reason()}")
    free = gate.free_cpu(json.loads(nodes.stdout), json.loads(pods.stdout), ctx.plan.namespace)
    print(f"  the run requests {need:.0f}m CPU at its peak; the nodes have {free:.0f}m free")
    if need > free:
        raise StepFailed(
            f"the releases at maxReplicas and Locust request {need:.0f}m CPU, the cluster "
            f"has {free:.0f}m free: lower --workers, or maxReplicas in e2e/values/*.yaml"
        )
