"""`python -m bench e2e` (`make e2e`): the in-cluster comparison of the FastAPI service and TF
Serving on the current kube context, in one command, into results/<UTC>-e2e/.

Steps, each printing its commands and how long it took:
  1. tools (docker, kubectl, helm, make; kind, minikube or the local cluster's ctr for loading)
     and the context (optionally a new kind cluster from e2e/values/kind-config.yaml,
     --kind-create);
  2. both images, built under a unique tag and loaded (--loader);
  3. CPU metrics: metrics-server from its official chart when `kubectl top pods` does not answer;
  4. both releases (same chart) in a namespace of the run's own, after checking that their CPU
     requests at maxReplicas fit the cluster's free CPU; `helm test` each;
  5. deliveryhero/locust against one target at a time (the Makefile's flags,
     e2e/values/locust.yaml);
  6. the HPA recorded while it runs (replicas.csv, as `bench run --kube-hpa`);
  7. the CSVs copied out, `bench import`, `bench report` over both runs; the gate;
  8. everything it installed removed (not with --keep); on failure, first the pods, events
     and logs that explain it.
Exit status: 0 when every step passed and the gate held; 1 when a step failed, an answer was
wrong, the Celsiusify HPA never went above its minimum under the top step, or a capacity fell
below its --min-capacity floor; 2 for a missing tool, an unreachable cluster or bad options.
--dry-run prints every command in order and touches no cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench import e2e_gate
from bench.e2e_plan import (
    LOCUST_CSV_PREFIX,
    SHAPES,
    TARGETS,
    Cmd,
    Images,
    Loader,
    Plan,
    Tools,
    base_images,
    cmd,
    containerd_name,
)
from bench.e2e_shell import Shell
from bench.hpa import HpaWatcher, millicores
from bench.sysinfo import ROOT
from targets import Target

STEPS = 8
POLL_SECONDS = 10.0
METRICS_WAIT_SECONDS = 240
# Locust's master waits this long for its workers (locust/values.yaml), then the shape runs.
WORKERS_WAIT_SECONDS = 300
LOCAL_CLUSTER_KUBECONFIG = "/var/lib/celsiusify-cluster/admin.kubeconfig"
INSTALL_HINTS = {
    "docker": "install Docker Engine (https://docs.docker.com/engine/install/), which builds "
    "the images",
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/) or put it on PATH",
    "helm": "run `make helm`, or install helm (https://helm.sh/docs/intro/install/)",
    "make": "install make (apt-get install make)",
    "kind": "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) "
    "or choose another --loader",
    "minikube": "install minikube (https://minikube.sigs.k8s.io/docs/start/) "
    "or choose another --loader",
}


class UsageError(Exception):
    """A missing tool, an unreachable cluster or bad options: one line, exit status 2."""


class StepFailed(Exception):
    """A step could not do its job: one line, diagnostics, clean-up, exit status 1."""


@dataclass
class StepRecord:
    """How one step went."""

    number: int
    title: str
    seconds: float = 0.0
    status: str = "running"


@dataclass
class Outcome:  # pylint: disable=too-many-instance-attributes
    """What the run did, for the clean-up, the summary and e2e.json."""

    steps: list[StepRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    built: list[Target] = field(default_factory=list)
    server_dry_run: list[str] = field(default_factory=list)
    runs: dict[str, Path] = field(default_factory=dict)
    hpa: dict[str, str] = field(default_factory=dict)
    namespace_created: bool = False
    metrics_server_installed: bool = False
    kind_created: bool = False


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench e2e",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print every command in order; touch no cluster"
    )
    parser.add_argument(
        "--loader",
        help="how images reach the nodes: kind, minikube, registry=<prefix> (docker push) or "
        "local-cluster (this project's test cluster: make cluster-up); default: from the "
        "context's name (kind-*, minikube)",
    )
    parser.add_argument(
        "--kind-create",
        action="store_true",
        help="first create a kind cluster from e2e/values/kind-config.yaml "
        "(deleted afterwards unless --keep)",
    )
    parser.add_argument("--kind-name", default="celsiusify-e2e", help="the kind cluster's name")
    parser.add_argument("--minikube-profile", default="minikube")
    parser.add_argument(
        "--targets",
        default="celsiusify,tfserving",
        help="comma-separated, in order (default: %(default)s)",
    )
    parser.add_argument(
        "--shape",
        choices=sorted(SHAPES),
        default="standard",
        help="step load: standard (5 x 90 s) or short (3 x 40 s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="Locust worker pods of 400m (e2e/values/locust.yaml's budget: 2)",
    )
    parser.add_argument(
        "--min-capacity",
        action="append",
        default=[],
        metavar="TARGET=RPS",
        help="fail when the target's capacity is below RPS req/s",
    )
    parser.add_argument(
        "--slo-ms",
        type=float,
        default=50.0,
        help="the p99 SLO a step must meet to count toward capacity (bench import's; "
        "default %(default)g ms)",
    )
    parser.add_argument(
        "--unbuildable",
        choices=("fail", "server-dry-run"),
        default="fail",
        help="a target whose image cannot be built: fail the run, or stop that "
        "target at its image and send its objects with --dry-run=server",
    )
    parser.add_argument("--namespace", help="default: celsiusify-e2e-<UTC timestamp>")
    parser.add_argument("--tag", help="image tag (default: e2e-<UTC timestamp>)")
    parser.add_argument(
        "--locust-chart",
        default=os.environ.get("LOCUST_CHART", "deliveryhero/locust"),
        help="the deliveryhero/locust chart: repository name or .tgz path",
    )
    parser.add_argument("--out", type=Path, help="results folder (default: results/<UTC>-e2e)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the releases, namespace, images and cluster in place",
    )
    return parser.parse_args(argv)


def parse_floors(pairs: Sequence[str], targets: Sequence[str]) -> dict[str, float]:
    """--min-capacity TARGET=RPS pairs; UsageError on anything else."""
    floors = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            floors[name] = float(value)
        except ValueError:
            raise UsageError(f"--min-capacity wants TARGET=RPS, not {pair!r}") from None
        if name not in targets:
            raise UsageError(f"--min-capacity {pair!r}: {name!r} is not one of --targets")
    return floors


def which(name: str) -> str | None:
    """A binary on PATH."""
    return shutil.which(name)


def cluster_var(name: str) -> str:
    """A variable of scripts/cluster/versions.sh and env.sh (the local cluster)."""
    script = f"source scripts/cluster/versions.sh; source scripts/cluster/env.sh; echo ${name}"
    result = Shell(dry_run=False).run(cmd("bash", "-c", script), quiet=True, local=True)
    return result.stdout.strip()


@contextlib.contextmanager
def step(outcome: Outcome, number: int, title: str) -> Iterator[StepRecord]:
    """Print a step's start and its duration; record its status."""
    record = StepRecord(number, title)
    outcome.steps.append(record)
    print(f"\n[{number}/{STEPS}] {title}", flush=True)
    started = time.monotonic()
    try:
        yield record
        if record.status == "running":
            record.status = "ok"
    except BaseException:
        record.status = "failed"
        raise
    finally:
        record.seconds = round(time.monotonic() - started, 1)
        print(f"[{number}/{STEPS}] {title}: {record.status} in {record.seconds:.1f} s", flush=True)


class E2eRun:  # pylint: disable=too-many-instance-attributes
    """One run: the steps in order, then the clean-up."""

    def __init__(self, args: argparse.Namespace, plan: Plan, out: Path) -> None:
        self.args, self.plan, self.out = args, plan, out
        self.shell = Shell(args.dry_run)
        self.outcome = Outcome()
        self.floors = parse_floors(args.min_capacity, [t.name for t in plan.targets])
        self.context = "<current context>"
        self.work = Path(tempfile.mkdtemp(prefix="celsiusify-e2e-"))
        self.rendered: dict[str, list[dict[str, Any]]] = {}
        self.locust_args: dict[str, list[str]] = {}

    # --- helpers ------------------------------------------------------------------------------
    def _must(self, command: Cmd, what: str, **options: Any) -> str:
        """Run a command; StepFailed naming `what` when it fails. Its stdout."""
        result = self.shell.run(command, **options)
        if not result.ok:
            raise StepFailed(f"{what}: {result.reason()}")
        return result.stdout

    def _live(self) -> list[Target]:
        """Targets measured for real (not sent to --dry-run=server)."""
        return [t for t in self.plan.targets if t.name not in self.outcome.server_dry_run]

    # --- 1. tools and context -----------------------------------------------------------------
    def check_tools(self) -> None:
        """Every binary the chosen path needs; then the context, reachable."""
        needed = ["docker", "kubectl", "helm", "make"]
        loader = self.plan.loader
        if self.args.kind_create or loader.kind == "kind":
            needed.append("kind")
        if loader.kind == "minikube":
            needed.append("minikube")
        tools = self.plan.tools
        for name in needed:
            binary = getattr(tools, name, name)
            if not (Path(binary).is_file() if os.sep in binary else which(binary)):
                message = f"{name} not found: {INSTALL_HINTS[name]}"
                if not self.args.dry_run:
                    raise UsageError(message)
                self.outcome.notes.append(f"dry run: {message}")
        if loader.kind == "local-cluster":
            self._check_local_cluster()
        if not self.args.dry_run:
            docker = self.shell.run(
                cmd(tools.docker, "version", "--format", "{{.Server.Version}}"), local=True
            )
            if not docker.ok:
                raise UsageError(f"the Docker engine does not answer: {docker.reason()}")
        if self.args.kind_create:
            self._must(self.plan.kind_create(), "kind create cluster", timeout=600)
            self.outcome.kind_created = True
        self.pin_context()

    def _check_local_cluster(self) -> None:
        """The local test cluster's containerd answers."""
        if not Path(self.plan.tools.containerd_socket).exists() and not self.args.dry_run:
            raise UsageError(
                f"no local cluster: no containerd socket {self.plan.tools.containerd_socket} "
                "(run make cluster-up)"
            )

    def _base_kubeconfig(self) -> str:
        """The kubeconfig the run starts from ($KUBECONFIG; the local cluster's own for it)."""
        if self.plan.loader.kind == "local-cluster":
            return os.environ.get("CELSIUSIFY_CLUSTER_KUBECONFIG", LOCAL_CLUSTER_KUBECONFIG)
        return os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")

    def pin_context(self) -> None:
        """Pin the current context and the run's namespace for every later kubectl and helm
        call (and the HPA recorder, which names no namespace): a kubeconfig of one context put
        first in KUBECONFIG, pointing at the same cluster and user, copying no credential."""
        base = self._base_kubeconfig()
        kubectl = self.plan.tools.kubectl
        os.environ["KUBECONFIG"] = base
        current = self.shell.run(cmd(kubectl, "config", "current-context"), local=True)
        if not current.ok:
            if self.args.dry_run:
                self.outcome.notes.append(f"dry run: no current context in {base}")
                self.shell.run(cmd(kubectl, "get", "--raw", "/readyz"))
                return
            raise UsageError(
                f"no current kube context in {base}: set KUBECONFIG or `kubectl config "
                "use-context NAME`, or pass --kind-create"
            )
        self.context = current.stdout.strip()
        self._resolve_loader()
        view = self.shell.run(
            cmd(
                kubectl,
                "config",
                "view",
                "--minify",
                "-o",
                "jsonpath={.contexts[0].context.cluster} {.contexts[0].context.user}",
            ),
            local=True,
            quiet=True,
        )
        cluster, _, user = view.stdout.strip().partition(" ")
        overlay = self.work / "kubeconfig"
        overlay.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "celsiusify-e2e",
                    "contexts": [
                        {
                            "name": "celsiusify-e2e",
                            "context": {
                                "cluster": cluster,
                                "user": user,
                                "namespace": self.plan.namespace,
                            },
                        }
                    ],
                }
            )
        )
        os.environ["KUBECONFIG"] = f"{overlay}{os.pathsep}{base}"
        print(
            f"  context {self.context} (cluster {cluster}), namespace {self.plan.namespace}: "
            f"KUBECONFIG={os.environ['KUBECONFIG']}"
        )
        ready = self.shell.run(cmd(kubectl, "get", "--raw", "/readyz"), timeout=30)
        if not ready.ok:
            raise UsageError(
                f"the cluster of context {self.context} does not answer ({ready.reason()}): "
                "start it, or choose another context"
            )

    def _resolve_loader(self) -> None:
        """--loader, else guessed from the context's name."""
        if self.args.loader:
            return
        if self.context.startswith("kind-"):
            loader, name = Loader("kind"), self.context.removeprefix("kind-")
            self.plan = replace(self.plan, loader=loader, kind_cluster=name)
        elif self.context == self.plan.minikube_profile:
            self.plan = replace(self.plan, loader=Loader("minikube"))
        else:
            raise UsageError(
                f"context {self.context}: say how images reach its nodes with --loader "
                "kind|minikube|registry=<prefix>|local-cluster"
            )

    # --- 2. images ----------------------------------------------------------------------------
    def _absent_bases(self, target: Target) -> list[str]:
        """On the local cluster (air-gapped by design), the base images Docker would have to
        pull: building them would only try, and fail at, a registry outside. Elsewhere none."""
        if self.plan.loader.kind != "local-cluster" or self.args.dry_run:
            return []
        bases = base_images((ROOT / target.dockerfile).read_text(encoding="utf-8"))
        docker = self.plan.tools.docker
        return [
            base
            for base in bases
            if not self.shell.run(cmd(docker, "image", "inspect", base), quiet=True).ok
        ]

    def images(self) -> None:
        """Build each target's image under the run's tag and load it; the Locust image."""
        for target in self.plan.targets:
            absent = self._absent_bases(target)
            built = None if absent else self.shell.run(self.plan.build(target), timeout=1800)
            if built is None or not built.ok:
                reason = (
                    f"its base {', '.join(absent)} is not in the local Docker and the local "
                    "cluster's machines reach no registry"
                    if built is None
                    else built.reason()
                )
                why = f"{target.name}: its image cannot be built here ({reason})"
                if self.args.unbuildable != "server-dry-run":
                    raise StepFailed(f"{why}; --unbuildable server-dry-run stops it there")
                print(
                    f"  {why}: it stops at its image; its objects go through "
                    "kubectl apply --dry-run=server only"
                )
                self.outcome.notes.append(f"{why}: objects sent with --dry-run=server only")
                self.outcome.server_dry_run.append(target.name)
                continue
            self.outcome.built.append(target)
            self._must(
                self.plan.load(target), f"loading {self.plan.images.ref(target)}", timeout=1800
            )
        if self.plan.loader.kind == "local-cluster":
            self._local_locust_image()
        else:
            print("  the Locust image (locust/values.yaml) is pulled by the nodes")

    def _local_locust_image(self) -> None:
        """The local cluster has no registry: its fixture script builds and imports the Locust
        image locust/values.yaml names; without the script, the image must be there already."""
        if (ROOT / "scripts" / "images" / "locust.sh").is_file():
            command = cmd("bash", "scripts/images/locust.sh", "--import")
            self._must(command, "the Locust image", timeout=1800)
            return
        image = yaml.safe_load((ROOT / "locust" / "values.yaml").read_text())["image"]
        name = containerd_name(f"{image['repository']}:{image['tag']}")
        listed = self.shell.run(self.plan.containerd_images(), plan_stdout=name)
        if name not in listed.stdout.split():
            raise StepFailed(f"no {name} in the local cluster's containerd, and no "
                             "scripts/images/locust.sh to build and import it")  # fmt: skip
        state = "must be" if self.args.dry_run else "is"
        print(f"  {name} {state} in the local cluster's containerd already")

    # --- 3. metrics ---------------------------------------------------------------------------
    def metrics(self) -> None:
        """metrics-server when `kubectl top pods` does not answer; then wait for metrics."""
        probe = self.plan.metrics_probe()
        if self.shell.run(probe, probe=True).ok:
            print("  metrics flow already (kubectl top pods answers): metrics-server left alone")
            return
        repo, install = self.plan.metrics_server_install()
        self._must(repo, "helm repo add metrics-server")
        self._must(install, "metrics-server", timeout=600)
        self.outcome.metrics_server_installed = True
        print(f"  waiting up to {METRICS_WAIT_SECONDS} s for metrics (every 5 s):")
        self.shell.run(probe, probe=True)
        deadline = time.monotonic() + METRICS_WAIT_SECONDS
        while not self.args.dry_run:
            if self.shell.run(probe, quiet=True).ok:
                return
            if time.monotonic() > deadline:
                raise StepFailed(f"no CPU metrics {METRICS_WAIT_SECONDS} s after metrics-server")
            time.sleep(5)

    # --- 4. releases --------------------------------------------------------------------------
    def releases(self) -> None:
        """The namespace, the CPU check, both releases with --wait, helm test each."""
        for command in self.plan.namespace_create():
            self._must(command, "namespace")
            self.outcome.namespace_created = True
        self.check_cpu()
        for target in self.plan.targets:
            if target.name in self.outcome.server_dry_run:
                self._must(
                    self.plan.server_dry_run(self.plan.release_template(target)),
                    f"{target.release} (--dry-run=server)",
                    show=True,
                )
                continue
            self.outcome.releases.append(target.release)
            self._must(
                self.plan.release_install(target), f"helm upgrade -i {target.release}", timeout=900
            )
            self._must(
                self.plan.release_test(target),
                f"helm test {target.release}",
                timeout=600,
                show=True,
            )

    def _render(self, key: str, command: Cmd) -> list[dict[str, Any]]:
        """helm template, run even in dry-run mode (it reads no cluster); [] if it cannot."""
        if key not in self.rendered:
            result = self.shell.run(command, local=True, quiet=True)
            docs = list(yaml.safe_load_all(result.stdout)) if result.ok else []
            if not result.ok:
                self.outcome.notes.append(f"could not render {key}: {result.reason()}")
            self.rendered[key] = [doc for doc in docs if isinstance(doc, dict)]
        return self.rendered[key]

    def _locust_make_args(self, target: Target) -> list[str]:
        """The Makefile's Locust flags for a target (make prints them; nothing is touched)."""
        if target.name not in self.locust_args:
            printed = self.shell.run(self.plan.locust_make_args(target), local=True, quiet=True)
            if not printed.ok:
                raise StepFailed(f"make e2e-locust-args: {printed.reason()}")
            self.locust_args[target.name] = shlex.split(printed.stdout)
        return self.locust_args[target.name]

    def check_cpu(self) -> None:
        """The run's CPU requests at their peak (releases at maxReplicas, one Locust) against
        the CPU the cluster has free, so no pod the HPA adds stays Pending."""
        need = 0.0
        for target in self._live():
            need += sum(
                e2e_gate.peak_cpu_requests(
                    self._render(target.release, self.plan.release_template(target))
                ).values()
            )
        if repo := self.plan.locust_repo_add():
            self._must(repo, "helm repo add deliveryhero")
        need += max(
            (
                sum(
                    e2e_gate.peak_cpu_requests(
                        self._render(
                            t.locust_release,
                            self.plan.locust_template(t, self._locust_make_args(t)),
                        )
                    ).values()
                )
                for t in self._live()
            ),
            default=0.0,
        )
        nodes = self.shell.run(cmd(self.plan.tools.kubectl, "get", "nodes", "-o", "json"))
        pods = self.shell.run(
            cmd(self.plan.tools.kubectl, "get", "pods", "--all-namespaces", "-o", "json")
        )
        if self.args.dry_run:
            print(
                f"  the run requests {need:.0f}m CPU at its peak; checked against the "
                "allocatable CPU the nodes have free"
            )
            return
        if not nodes.ok or not pods.ok:
            raise StepFailed(
                f"kubectl get nodes/pods: {(nodes if not nodes.ok else pods).reason()}"
            )
        free = e2e_gate.free_cpu(
            json.loads(nodes.stdout), json.loads(pods.stdout), self.plan.namespace
        )
        print(f"  the run requests {need:.0f}m CPU at its peak; the nodes have {free:.0f}m free")
        if need > free:
            raise StepFailed(
                f"the releases at maxReplicas and Locust request {need:.0f}m CPU, the cluster "
                f"has {free:.0f}m free: lower --workers, or maxReplicas in e2e/*.yaml"
            )

    # --- 5-6. load ----------------------------------------------------------------------------
    def load(self) -> None:
        """Locust against each target in turn, the HPA recorded, the CSVs copied out."""
        self._must(self.plan.locust_configmaps(), "Locust ConfigMaps")
        for target in self.plan.targets:
            args = self._locust_make_args(target)
            if target.name in self.outcome.server_dry_run:
                print(f"  {target.name}: its Locust release through --dry-run=server only")
                self._must(
                    self.plan.server_dry_run(self.plan.locust_template(target, args)),
                    f"{target.locust_release} (--dry-run=server)",
                    show=True,
                )
                continue
            print(f"  {target.name}:")
            started = time.monotonic()
            self.run_locust(target, args)
            print(f"  {target.name}: Locust done in {time.monotonic() - started:.1f} s")

    def run_locust(self, target: Target, args: list[str]) -> None:
        """Install, record, wait for the shape, copy the CSVs out, uninstall."""
        self.outcome.releases.append(target.locust_release)
        self._must(
            self.plan.locust_install(target, args),
            f"helm upgrade -i {target.locust_release}",
            timeout=900,
        )
        replicas = self.work / f"{target.name}-replicas.csv"
        print(
            f"  recording the HPA {target.release} every 5 s into replicas.csv "
            f"(bench.hpa: kubectl get hpa {target.release} -o json, then its Deployment)"
        )
        watcher = HpaWatcher(target.release, replicas, 5.0, kubectl=self.plan.tools.kubectl)
        if not self.args.dry_run:
            watcher.start()
        try:
            pod = self.wait_for_shape(target)
        finally:
            if not self.args.dry_run:
                watcher.stop()
        destination = self.out / target.name
        self._must(self.plan.fetch_results(pod, str(destination)), "kubectl cp of the CSVs")
        self._must(
            self.plan.uninstall(target.locust_release), f"helm uninstall {target.locust_release}"
        )
        self.outcome.releases.remove(target.locust_release)
        if not self.args.dry_run:
            shutil.copyfile(replicas, destination / "hpa-replicas.csv")
        self.outcome.runs[target.name] = destination

    def wait_for_shape(self, target: Target) -> str:
        """Poll the master until its shape went through the top step back to zero users."""
        shape = self.plan.shape
        pod = self._must(
            self.plan.master_pod(target), "the Locust master pod", plan_stdout="<master pod>"
        ).strip()
        print(
            f"  the shape: {shape.steps} steps of {shape.step_seconds} s, "
            f"{shape.start_users} to {shape.top_users} users; polling every {POLL_SECONDS:g} s:"
        )
        self.shell.run(self.plan.master_restarts(target))
        self.shell.run(self.plan.master_progress(pod))
        if self.args.dry_run:
            return pod
        deadline = time.monotonic() + WORKERS_WAIT_SECONDS + shape.seconds + 240
        seen_top, first_load = False, None
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            restarts = self.shell.run(self.plan.master_restarts(target), quiet=True).stdout.split()
            if any(count != "0" for count in restarts):
                raise StepFailed("the Locust master restarted: its CSVs started over")
            row = latest_history_row(
                self.shell.run(self.plan.master_progress(pod), quiet=True).stdout
            )
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

    # --- 7. results and the gate --------------------------------------------------------------
    def results(self) -> None:
        """bench import of each run, bench report over them; the gate."""
        for target in self._live():
            folder = self.outcome.runs.get(target.name, self.out / target.name)
            cpus = self._allowed_cpus(target, folder)
            self._must(
                cmd(
                    sys.executable,
                    "-m",
                    "bench",
                    "import",
                    str(folder),
                    "--target",
                    target.name,
                    "--csv-prefix",
                    LOCUST_CSV_PREFIX,
                    "--replicas",
                    str(folder / "hpa-replicas.csv"),
                    "--server-cpus",
                    f"{cpus:g}",
                    "--slo-ms",
                    f"{self.args.slo_ms:g}",
                    "--where",
                    f"in-cluster (deliveryhero/locust, make e2e on {self.context})",
                ),
                f"bench import {target.name}",
                show=True,
                timeout=300,
            )
        runs = [str(self.out / t.name) for t in self._live()]
        if runs:
            self._must(
                cmd(
                    sys.executable,
                    "-m",
                    "bench",
                    "report",
                    *runs,
                    "--out",
                    str(self.out),
                    "--values",
                    "e2e/values/celsiusify.yaml",
                ),
                "bench report",
                show=True,
                timeout=600,
            )
        if not self.args.dry_run:
            self.gate()

    def _allowed_cpus(self, target: Target, folder: Path) -> float:
        """CPU the target was allowed: its CPU limit x the most Ready pods recorded."""
        limit = 0.0
        for obj in self._render(target.release, self.plan.release_template(target)):
            if obj.get("kind") == "Deployment":
                for container in obj["spec"]["template"]["spec"]["containers"]:
                    cpu = (container.get("resources") or {}).get("limits", {}).get("cpu")
                    limit += millicores(cpu) or 0.0
        if self.args.dry_run:
            print(f"  --server-cpus: {limit / 1000:g} CPU (limit) x the most Ready pods recorded")
            return limit / 1000
        rows = read_rows(folder / "hpa-replicas.csv")
        return max(1, e2e_gate.peak_ready_replicas(rows)) * limit / 1000

    def gate(self) -> None:
        """Wrong answers, the Celsiusify HPA under the top step, capacity floors."""
        problems = self.outcome.problems
        for target in self._live():
            folder = self.out / target.name
            for wrong in e2e_gate.wrong_answers(read_rows(folder / f"{target.name}_failures.csv")):
                problems.append(f"{target.name}: wrong answers: {wrong}")
            meta = json.loads((folder / "meta.json").read_text())
            window = e2e_gate.top_step_window(
                read_rows(folder / f"{target.name}_stats_history.csv")
            )
            minimum = self._min_replicas(target)
            verdict = e2e_gate.hpa_verdict(read_rows(folder / "replicas.csv"), window, minimum)
            self.outcome.hpa[target.name] = verdict.describe(minimum)
            print(f"  {target.name}: HPA {verdict.describe(minimum)}")
            if target.hpa_gate and not verdict.went_above:
                problems.append(
                    f"{target.name}: the HPA never went above {minimum} replica(s) "
                    f"under the top step ({verdict.describe(minimum)})"
                )
            if target.name in self.floors:
                rps = e2e_gate.capacity_rps(meta)
                if problem := e2e_gate.floor_problem(target.name, rps, self.floors[target.name]):
                    problems.append(problem)
        for target in self.plan.targets:
            if target.hpa_gate and target.name not in self.outcome.runs:
                problems.append(f"{target.name}: not measured, so its HPA gate cannot pass")

    def _min_replicas(self, target: Target) -> int:
        """The rendered HPA's minReplicas."""
        for obj in self._render(target.release, self.plan.release_template(target)):
            if obj.get("kind") == "HorizontalPodAutoscaler":
                return int(obj["spec"].get("minReplicas", 1))
        return 1

    # --- 8. clean-up and diagnostics ----------------------------------------------------------
    def diagnose(self) -> None:
        """Pods, events, describe and each pod's last log lines of the run's namespace."""
        if not self.outcome.namespace_created or self.args.dry_run:
            return
        print("\n--- what the namespace holds (for the failure above) ---")
        for command in self.plan.diagnostics():
            result = self.shell.run(command, timeout=60)
            print("\n".join((result.stdout + result.stderr).splitlines()[-150:]))
        names = self.shell.run(self.plan.kubectl("get", "pods", "-o", "name"), quiet=True)
        for pod in names.stdout.split():
            result = self.shell.run(self.plan.pod_logs(pod.removeprefix("pod/")), timeout=60)
            print((result.stdout + result.stderr).rstrip())

    def clean_up(self) -> None:
        """Uninstall what the run installed, newest first (kept with --keep)."""
        if self.args.keep:
            print(
                f"  --keep: left namespace {self.plan.namespace}, releases "
                f"{', '.join(self.outcome.releases) or 'none'}, the images; remove with: "
                f"{self.plan.namespace_delete().text()}"
            )
            return
        failures = []
        for release in reversed(self.outcome.releases):
            result = self.shell.run(self.plan.uninstall(release), timeout=600)
            if not result.ok:
                failures.append(f"helm uninstall {release}: {result.reason()}")
        if self.outcome.namespace_created:
            result = self.shell.run(self.plan.namespace_delete(), timeout=600)
            if not result.ok:
                failures.append(f"namespace {self.plan.namespace}: {result.reason()}")
        if self.outcome.metrics_server_installed:
            self.shell.run(self.plan.metrics_server_uninstall(), timeout=300)
        for target in self.outcome.built:
            for command in self.plan.unload(target):
                self.shell.run(command, timeout=300)
        if self.outcome.kind_created:
            self.shell.run(self.plan.kind_delete(), timeout=600)
        self.outcome.problems += [f"clean-up: {failure}" for failure in failures]

    # --- the whole run ------------------------------------------------------------------------
    def execute(self) -> int:
        """The eight steps; 0 pass, 1 fail, 2 usage."""
        status, failure = 0, ""
        try:
            with step(self.outcome, 1, "tools and context"):
                self.check_tools()
        except UsageError as error:
            print(f"e2e: {error}")
            if self.outcome.kind_created:
                self.clean_up()
            return 2
        if not self.args.dry_run:
            self.out.mkdir(parents=True, exist_ok=False)
        try:
            with step(self.outcome, 2, "images"):
                self.images()
            with step(self.outcome, 3, "CPU metrics"):
                self.metrics()
            with step(self.outcome, 4, "releases and helm test"):
                self.releases()
            with step(
                self.outcome, 5, "Locust in the cluster, one target at a time; (6) the HPA recorded"
            ):
                self.load()
            with step(self.outcome, 7, "import, report and gate"):
                self.results()
        except (StepFailed, KeyboardInterrupt) as error:
            failure = str(error) or "interrupted"
            print(f"\ne2e: FAILED: {failure}")
            self.diagnose()
            status = 1
        finally:
            with step(self.outcome, 8, "clean-up"):
                self.clean_up()
        if self.outcome.problems:
            status = 1
        self.summarise(failure)
        return status

    def summarise(self, failure: str) -> None:
        """e2e.json and e2e.md in the results folder; the summary on stdout."""
        lines = [
            "## make e2e",
            "",
            f"Context `{self.context}`, namespace `{self.plan.namespace}`, "
            f"shape {self.args.shape}, {self.plan.workers} Locust worker(s).",
            "",
            "| step | status | seconds |",
            "|---|---|---|",
        ]
        lines += [
            f"| {s.number}. {s.title} | {s.status} | {s.seconds:.1f} |" for s in self.outcome.steps
        ]
        verdict = "FAIL" if failure or self.outcome.problems else "PASS"
        if self.args.dry_run:
            verdict = "not evaluated (dry run)"
        lines += ["", f"**Gate: {verdict}**" + (f" ({failure})" if failure else "")]
        lines += [f"- {problem}" for problem in self.outcome.problems]
        lines += [f"- HPA, {name}: {text}" for name, text in self.outcome.hpa.items()]
        lines += [f"- note: {note}" for note in self.outcome.notes]
        summary = self.out / "summary.md"
        if summary.exists():
            lines += ["", summary.read_text().rstrip()]
        text = "\n".join(lines) + "\n"
        print("\n" + text)
        if self.args.dry_run or not self.out.exists():
            return
        (self.out / "e2e.md").write_text(text)
        (self.out / "e2e.json").write_text(
            json.dumps(
                {
                    "context": self.context,
                    "namespace": self.plan.namespace,
                    "images": {t.name: self.plan.images.ref(t) for t in self.plan.targets},
                    "loader": self.plan.loader.kind,
                    "shape": self.args.shape,
                    "workers": self.plan.workers,
                    "verdict": verdict,
                    "failure": failure,
                    "problems": self.outcome.problems,
                    "notes": self.outcome.notes,
                    "server_dry_run": self.outcome.server_dry_run,
                    "hpa": self.outcome.hpa,
                    "steps": [vars(s) for s in self.outcome.steps],
                },
                indent=2,
            )
            + "\n"
        )
        print(f"e2e: wrote {self.out}")


def latest_history_row(text: str) -> dict[str, str] | None:
    """The header and last row `head -n 1; tail -n 1` printed, as a dict (None before data)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return rows[-1] if rows and rows[-1].get("Name") == "Aggregated" else None


def read_rows(path: Path) -> list[dict[str, str]]:
    """A CSV's rows ([] when the file is absent)."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def resolve_tools(loader: Loader) -> Tools:
    """Binaries: $HELM, PATH or make helm's .tools/bin/helm; on the local cluster its own
    kubectl (the API server's release) and ctr."""
    local_helm = ROOT / ".tools" / "bin" / "helm"
    helm = (
        os.environ.get("HELM")
        or which("helm")
        or (str(local_helm) if local_helm.is_file() else "helm")
    )
    tools = Tools(helm=helm, kubectl=os.environ.get("KUBECTL") or "kubectl")
    if loader.kind == "local-cluster":
        kubectl = Path(cluster_var("K8S_BIN")) / "kubectl"
        tools = replace(
            tools,
            ctr=str(Path(cluster_var("CONTAINERD_BIN")) / "ctr"),
            containerd_socket=cluster_var("CONTAINERD_SOCK"),
            kubectl=str(kubectl)
            if kubectl.is_file() and "KUBECTL" not in os.environ
            else tools.kubectl,
        )
    return tools


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; see the module docstring for the exit statuses."""
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        loader = Loader.parse(args.loader) if args.loader else Loader("kind")
        names = [name.strip() for name in args.targets.split(",") if name.strip()]
        unknown = [name for name in names if name not in TARGETS]
        if unknown or not names:
            raise UsageError(
                f"--targets: choose from {', '.join(TARGETS)} (not {unknown or names})"
            )
        if args.workers < 1:
            raise UsageError("--workers must be at least 1")
    except (ValueError, UsageError) as error:
        print(f"e2e: {error}")
        return 2
    plan = Plan(
        namespace=args.namespace or f"celsiusify-e2e-{stamp.lower()}",
        images=Images(args.tag or f"e2e-{stamp.lower()}", loader.argument),
        loader=loader,
        targets=tuple(TARGETS[name] for name in names),
        shape=SHAPES[args.shape],
        workers=args.workers,
        locust_chart=args.locust_chart,
        tools=resolve_tools(loader),
        kind_cluster=args.kind_name,
        minikube_profile=args.minikube_profile,
    )
    out = args.out or ROOT / "results" / f"{stamp}-e2e"
    if out.exists() and not args.dry_run:
        print(f"e2e: {out} exists: name another folder with --out")
        return 2
    saved = os.environ.get("KUBECONFIG")
    try:
        run = E2eRun(args, plan, out)
    except UsageError as error:
        print(f"e2e: {error}")
        return 2
    try:
        return run.execute()
    finally:
        shutil.rmtree(run.work, ignore_errors=True)
        if saved is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = saved
