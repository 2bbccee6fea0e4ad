"""The run (kind's create.go): the plan made from the options, the ordered steps built by
steps(), executed one after another with their durations, then the clean-up and the summary."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator

from e2e.commands import Tools
from e2e.context import Context, StepRecord
from e2e.errors import StepFailed, UsageError
from e2e.loaders import KindLoader
from e2e.options import Options
from e2e.plan import SHAPES, TARGETS, Images, Plan
from e2e.shell import Shell
from e2e.steps import Step
from e2e.steps.cleanup import CleanUp, diagnose
from e2e.steps.images import BuildImages
from e2e.steps.locust import LoadWithLocust
from e2e.steps.metrics import CpuMetrics
from e2e.steps.releases import Releases
from e2e.steps.results import ImportReportGate
from e2e.steps.tools import ToolsAndContext
from e2e.summary import summarise
from targets import ROOT


def steps() -> list[Step]:
    """The steps in order. The first checks what the run needs (its UsageError is exit
    status 2); the last, the clean-up, runs whatever happened in between."""
    return [
        ToolsAndContext(),
        BuildImages(),
        CpuMetrics(),
        Releases(),
        LoadWithLocust(),
        ImportReportGate(),
        CleanUp(),
    ]


def base_tools() -> Tools:
    """Binaries: $HELM, PATH or make helm's .tools/bin/helm; $KUBECTL or kubectl."""
    local_helm = ROOT / ".tools" / "bin" / "helm"
    helm = (
        os.environ.get("HELM")
        or shutil.which("helm")
        or (str(local_helm) if local_helm.is_file() else "helm")
    )
    return Tools(helm=helm, kubectl=os.environ.get("KUBECTL") or "kubectl")


def make_plan(options: Options) -> Plan:
    """The plan of the options' run; without --loader, kind's until the context says otherwise."""
    loader = (options.loader or KindLoader(options.kind_name)).located()
    return Plan(
        namespace=options.namespace,
        images=Images(options.tag, loader.registry),
        loader=loader,
        targets=tuple(
            TARGETS[name].with_standin() if name in options.standin else TARGETS[name]
            for name in options.targets
        ),
        max_replicas=dict(options.max_replicas),
        shape=SHAPES[options.shape],
        workers=options.workers,
        locust_chart=options.locust_chart,
        tools=loader.tools(base_tools()),
    )


def run(options: Options, shell: Shell) -> int:
    """The whole run with this shell; KUBECONFIG and the scratch folder restored after."""
    saved = os.environ.get("KUBECONFIG")
    ctx = Context(options, make_plan(options), shell)
    try:
        return execute(ctx, steps())
    finally:
        shutil.rmtree(ctx.work, ignore_errors=True)
        if saved is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = saved


@contextlib.contextmanager
def announced(ctx: Context, step: Step, total: int) -> Iterator[None]:
    """Print a step's start and its duration; record its status."""
    record = StepRecord(step.number, step.name)
    ctx.outcome.steps.append(record)
    print(f"\n[{step.number}/{total}] {step.name}", flush=True)
    started = time.monotonic()
    try:
        yield
        record.status = "ok"
    except BaseException:
        record.status = "failed"
        raise
    finally:
        record.seconds = round(time.monotonic() - started, 1)
        print(
            f"[{step.number}/{total}] {step.name}: {record.status} in {record.seconds:.1f} s",
            flush=True,
        )


def execute(ctx: Context, ordered: list[Step]) -> int:
    """The steps; 0 pass, 1 fail, 2 usage."""
    first, *middle, last = ordered
    total = max(step.number for step in ordered)
    try:
        with announced(ctx, first, total):
            first.run(ctx)
    except UsageError as error:
        print(f"e2e: {error}")
        if ctx.outcome.kind_created:
            last.run(ctx)
        return 2
    ctx.shell.make_dir(ctx.out)
    status, failure = 0, ""
    try:
        for step in middle:
            with announced(ctx, step, total):
                step.run(ctx)
    except (StepFailed, KeyboardInterrupt) as error:
        failure = str(error) or "interrupted"
        print(f"\ne2e: FAILED: {failure}")
        diagnose(ctx)
        status = 1
    finally:
        with announced(ctx, last, total):
            last.run(ctx)
    if ctx.outcome.problems:
        status = 1
    summarise(ctx, failure)
    return status
