"""(2) Images: each target's image built under the run's unique tag and loaded the loader's way
(or, with --unbuildable server-dry-run, a target that cannot be built stopped at its image; with
--standin, its manifest's stand-in image built instead, and said so); then the Locust image, as
the loader gets it to the nodes."""

from __future__ import annotations

from e2e.context import Context
from e2e.errors import StepFailed
from e2e.steps import Step


class BuildImages(Step):
    """Step 2."""

    number = 2
    name = "images"

    def run(self, ctx: Context) -> None:
        """Build each target's image under the run's tag and load it; the Locust image."""
        plan = ctx.plan
        for target in plan.targets:
            if target.runs_standin and target.standin is not None:
                note = (
                    f"{target.name} runs a STAND-IN image, {plan.images.ref(target)} from "
                    f"{target.dockerfile}: {target.standin.description}"
                )
                print(f"  {note}")
                ctx.outcome.notes.append(note)
            absent = plan.loader.absent_bases(ctx, target)
            built = None if absent else ctx.shell.run(plan.build(target), timeout=1800)
            if built is None or not built.ok:
                reason = (
                    f"its base {', '.join(absent)} is not in the local Docker and the local "
                    "cluster's machines reach no registry"
                    if built is None
                    else built.reason()
                )
                why = f"{target.name}: its image cannot be built here ({reason})"
                if ctx.options.unbuildable != "server-dry-run":
                    raise StepFailed(f"{why}; --unbuildable server-dry-run stops it there")
                print(
                    f"  {why}: it stops at its image; its objects go through "
                    "kubectl apply --dry-run=server only"
                )
                ctx.outcome.notes.append(f"{why}: objects sent with --dry-run=server only")
                ctx.outcome.server_dry_run.append(target.name)
                continue
            ctx.outcome.built.append(target)
            ctx.must(plan.load(target), f"loading {plan.images.ref(target)}", timeout=1800)
        plan.loader.locust_image(ctx)
