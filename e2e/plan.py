"""What `python -m e2e` runs, as data: the targets, step shapes, pinned versions, and every
command it issues, built by pure functions so the dry-run plan and the real run print the very
same lines (the steps in e2e/steps/ issue them; tests/e2e check them without a cluster). The
commands that depend on how images reach the nodes come from the run's loader (e2e/loaders/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from e2e.commands import Cmd, Tools, cmd
from targets import Target, all_targets

if TYPE_CHECKING:
    from e2e.loaders.base import Loader

CHART = "celsiusify-chart"
LOCUST_VALUES = "e2e/values/locust.yaml"
# The deliveryhero chart's repository; its version is the Makefile's LOCUST_CHART_VERSION, which
# comes with the flags `make e2e-locust-args` prints.
LOCUST_REPO = ("deliveryhero", "https://charts.deliveryhero.io/")
# metrics-server's official chart (kubernetes-sigs/metrics-server, tag
# metrics-server-helm-chart-3.13.1: metrics-server 0.8.1). Its CPU request is set here, not
# left to the chart's default, because e2e/values/locust.yaml's budget counts it.
METRICS_SERVER_REPO = ("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/")
METRICS_SERVER_CHART = "metrics-server/metrics-server"
METRICS_SERVER_VERSION = "3.13.1"
METRICS_SERVER_CPU_REQUEST = "100m"
# The master writes its CSVs as /results/celsiusify_* whatever the target (locust/values.yaml).
LOCUST_RESULTS = "/results"
LOCUST_CSV_PREFIX = "celsiusify"
HELM_TIMEOUT = "300s"
NAMESPACE_LABEL = "app.kubernetes.io/managed-by=celsiusify-e2e"
# Pod Security admission "restricted" on the run's namespace, enforced (a pod that breaks it is
# refused), audited and warned: the releases' pods, their helm test pods and Locust's
# (locust/values.yaml's securityContext) all run under it, as a careful user's namespace would.
POD_SECURITY_LABELS = tuple(
    f"pod-security.kubernetes.io/{mode}=restricted" for mode in ("enforce", "audit", "warn")
)


# The servers under test: targets/<name>.json (one declaration each).
TARGETS = all_targets()


@dataclass(frozen=True)
class Shape:
    """Locust's step load (locust/lib/stages.py): start users, +step users every step seconds."""

    start_users: int
    step_users: int
    step_seconds: int
    max_users: int

    @property
    def steps(self) -> int:
        """How many steps the shape holds."""
        return (self.max_users - self.start_users) // self.step_users + 1

    @property
    def top_users(self) -> int:
        """The user count of the last (top) step."""
        return self.start_users + (self.steps - 1) * self.step_users

    @property
    def seconds(self) -> int:
        """How long the shape runs once the workers are connected."""
        return self.steps * self.step_seconds

    def helm_sets(self) -> list[str]:
        """The shape as --set-string flags of the deliveryhero chart's environment."""
        environment = {
            "STEP_START_USERS": self.start_users,
            "STEP_USERS": self.step_users,
            "STEP_SECONDS": self.step_seconds,
            "STEP_MAX_USERS": self.max_users,
        }
        sets = []
        for name, value in environment.items():
            sets += ["--set-string", f"loadtest.environment.{name}={value}"]
        return sets


# standard: each step lasts 90 s, long enough for the HPA to see a step (metrics-server resolves
# CPU every 15 s, the HPA syncs every 15 s), start a pod and then hold the step with it;
# short: three 40 s steps for a quick check (CI on the local cluster): the HPA still reacts
# within the shape, the figures are coarser.
SHAPES = {
    "standard": Shape(start_users=10, step_users=10, step_seconds=90, max_users=50),
    "short": Shape(start_users=4, step_users=4, step_seconds=40, max_users=12),
}


@dataclass(frozen=True)
class Images:
    """The unique-tagged image references of one run."""

    tag: str
    registry: str = ""

    def ref(self, target: Target) -> str:
        """repository:tag of a target's image."""
        return f"{self.repository(target)}:{self.tag}"

    def repository(self, target: Target) -> str:
        """The repository a release's image.repository gets."""
        return f"{self.registry}/{target.image_name}" if self.registry else target.image_name


@dataclass(frozen=True)
class Plan:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """Everything that decides the commands of one run."""

    namespace: str
    images: Images
    loader: Loader
    targets: tuple[Target, ...]
    shape: Shape
    workers: int
    locust_chart: str
    tools: Tools = field(default_factory=Tools)
    # The HPA's maxReplicas by target name, where --max-replicas lowered it.
    max_replicas: Mapping[str, int] = field(default_factory=dict)

    # --- images -------------------------------------------------------------------------------
    def build(self, target: Target) -> Cmd:
        """docker build of a target's image under its unique tag."""
        return cmd(
            self.tools.docker, "build", "--network", "host", "-t", self.images.ref(target),
            "-f", target.dockerfile, target.context,
        )  # fmt: skip

    def load(self, target: Target) -> Cmd:
        """Make the image available to the cluster's nodes (the loader's way)."""
        return self.loader.load(self.images.ref(target), self.tools)

    def unload(self, target: Target) -> list[Cmd]:
        """Remove what load() and build() left (what the loader put on the nodes, then the
        local image)."""
        ref = self.images.ref(target)
        return [*self.loader.unload(ref), cmd(self.tools.docker, "image", "rm", ref)]

    # --- cluster and metrics ------------------------------------------------------------------
    def kubectl(self, *args: str) -> Cmd:
        """kubectl in the run's namespace."""
        return cmd(self.tools.kubectl, "--namespace", self.namespace, *args)

    def metrics_probe(self) -> Cmd:
        """Answers once CPU metrics flow (the HPA reads the same Metrics API)."""
        return cmd(self.tools.kubectl, "top", "pods", "--all-namespaces")

    def metrics_server_install(self) -> list[Cmd]:
        """metrics-server from its official chart, pinned, with the loader's flags (kind and
        minikube kubelets serve self-signed certificates: --kubelet-insecure-tls there)."""
        install = [
            self.tools.helm, "upgrade", "-i", "metrics-server", METRICS_SERVER_CHART,
            "--version", METRICS_SERVER_VERSION, "--namespace", "kube-system",
            "--set-string", f"resources.requests.cpu={METRICS_SERVER_CPU_REQUEST}",
            "--wait", "--timeout", HELM_TIMEOUT,
        ]  # fmt: skip
        install[-3:-3] = self.loader.metrics_server_args()
        return [
            cmd(self.tools.helm, "repo", "add", *METRICS_SERVER_REPO, "--force-update"),
            cmd(*install),
        ]

    def metrics_server_uninstall(self) -> Cmd:
        """Remove the metrics-server the run installed."""
        return cmd(self.tools.helm, "uninstall", "metrics-server", "--namespace", "kube-system")

    def namespace_create(self) -> list[Cmd]:
        """The run's own namespace, labelled as the run's, Pod Security "restricted"."""
        return [
            cmd(self.tools.kubectl, "create", "namespace", self.namespace),
            cmd(self.tools.kubectl, "label", "namespace", self.namespace, NAMESPACE_LABEL),
            cmd(self.tools.kubectl, "label", "namespace", self.namespace, *POD_SECURITY_LABELS),
        ]

    def namespace_delete(self) -> Cmd:
        """Delete the namespace and whatever is left in it."""
        return cmd(
            self.tools.kubectl, "delete", "namespace", self.namespace, "--ignore-not-found",
            "--wait=true", "--timeout=300s",
        )  # fmt: skip

    # --- releases -----------------------------------------------------------------------------
    def release_values(self, target: Target) -> list[str]:
        """Values files and the image flags of a target's release."""
        args: list[str] = []
        for values in target.e2e_values:
            args += ["-f", values]
        args += ["--set", f"image.repository={self.images.repository(target)}"]
        args += ["--set-string", f"image.tag={self.images.tag}"]
        if target.test_image_is_api:
            args += ["--set", f"tests.image={self.images.ref(TARGETS['celsiusify'])}"]
        if target.name in self.max_replicas:
            args += ["--set", f"autoscaling.maxReplicas={self.max_replicas[target.name]}"]
        return args

    def release_install(self, target: Target) -> Cmd:
        """helm upgrade -i --wait of a target's release."""
        return cmd(
            self.tools.helm, "upgrade", "-i", target.release, CHART,
            "--namespace", self.namespace, *self.release_values(target),
            "--wait", "--timeout", HELM_TIMEOUT,
        )  # fmt: skip

    def release_template(self, target: Target) -> Cmd:
        """The same release, rendered (for the budget and for --dry-run=server)."""
        return cmd(
            self.tools.helm, "template", target.release, CHART, "--namespace", self.namespace,
            *self.release_values(target),
        )  # fmt: skip

    def release_test(self, target: Target) -> Cmd:
        """helm test: the chart's test pod checks one answer through the Service."""
        return cmd(
            self.tools.helm, "test", target.release, "--namespace", self.namespace, "--logs",
            "--timeout", HELM_TIMEOUT,
        )  # fmt: skip

    def uninstall(self, release: str) -> Cmd:
        """helm uninstall in the run's namespace."""
        return cmd(
            self.tools.helm, "uninstall", release, "--namespace", self.namespace, "--wait",
            "--timeout", HELM_TIMEOUT,
        )  # fmt: skip

    def server_dry_run(self, rendered_by: Cmd) -> Cmd:
        """Send rendered objects through the API server's validation and admission only."""
        return Cmd(
            (self.tools.kubectl, "apply", "--dry-run=server", "--namespace", self.namespace,
             "-f", "-"),
            stdin_from=rendered_by,
        )  # fmt: skip

    # --- Locust -------------------------------------------------------------------------------
    def locust_repo_add(self) -> Cmd | None:
        """helm repo add, when the chart is named through the deliveryhero repository."""
        if not self.locust_chart.startswith(f"{LOCUST_REPO[0]}/"):
            return None
        return cmd(self.tools.helm, "repo", "add", *LOCUST_REPO, "--force-update")

    def locust_make_args(self, target: Target) -> Cmd:
        """The Makefile's LOCUST_HELM_ARGS for this target (one place builds those flags)."""
        return cmd(
            "make", "-s", "--no-print-directory", "e2e-locust-args",
            f"LOCUST_NAMESPACE={self.namespace}", f"LOCUST_TARGET={target.name}",
            f"LOCUST_RELEASE={target.locust_release}", f"LOCUST_WORKERS={self.workers}",
        )  # fmt: skip

    def locust_configmaps(self) -> Cmd:
        """The locustfile and lib ConfigMaps (the Makefile renders them), applied."""
        return Cmd(
            (self.tools.kubectl, "apply", "--namespace", self.namespace, "-f", "-"),
            stdin_from=cmd(
                "make", "-s", "--no-print-directory", "loadtest-configmaps-yaml",
                f"LOCUST_NAMESPACE={self.namespace}",
            ),
        )  # fmt: skip

    def locust_flags(self, make_args: list[str]) -> list[str]:
        """The Makefile's flags, then e2e/values/locust.yaml (resources) and the step shape."""
        return [*make_args, "-f", LOCUST_VALUES, *self.shape.helm_sets()]

    def locust_install(self, target: Target, make_args: list[str]) -> Cmd:
        """helm upgrade -i of deliveryhero/locust against one target, headless."""
        return cmd(
            self.tools.helm, "upgrade", "-i", target.locust_release, self.locust_chart,
            *self.locust_flags(make_args), "--wait", "--timeout", HELM_TIMEOUT,
        )  # fmt: skip

    def locust_template(self, target: Target, make_args: list[str]) -> Cmd:
        """The same Locust release, rendered."""
        return cmd(
            self.tools.helm, "template", target.locust_release, self.locust_chart,
            *self.locust_flags(make_args),
        )  # fmt: skip

    def master_selector(self, target: Target) -> str:
        """Label selector of the Locust master pod (as `make loadtest-results` uses it)."""
        return f"component=master,app.kubernetes.io/instance={target.locust_release}"

    def master_pod(self, target: Target) -> Cmd:
        """The master pod's name."""
        return self.kubectl(
            "get", "pod", "-l", self.master_selector(target),
            "-o", "jsonpath={.items[0].metadata.name}",
        )  # fmt: skip

    def master_restarts(self, target: Target) -> Cmd:
        """Restart counts of the master's container (a restart starts the CSVs over)."""
        return self.kubectl(
            "get", "pod", "-l", self.master_selector(target),
            "-o", "jsonpath={.items[*].status.containerStatuses[*].restartCount}",
        )  # fmt: skip

    def master_progress(self, pod: str) -> Cmd:
        """The latest Aggregated row of the master's stats history (and its header)."""
        history = f"{LOCUST_RESULTS}/{LOCUST_CSV_PREFIX}_stats_history.csv"
        return self.kubectl(
            "exec",
            pod,
            "-c",
            "locust",
            "--",
            "sh",
            "-c",
            f"head -n 1 {history}; tail -n 1 {history}",
        )

    def fetch_results(self, pod: str, destination: str) -> Cmd:
        """kubectl cp of the master's CSVs."""
        return self.kubectl("cp", f"{pod}:{LOCUST_RESULTS}", destination, "-c", "locust")

    # --- diagnostics --------------------------------------------------------------------------
    def diagnostics(self) -> list[Cmd]:
        """What explains a failure: pods, events, then each pod's recent logs (the clean-up
        step's diagnose)."""
        return [
            self.kubectl("get", "pods", "-o", "wide"),
            self.kubectl("get", "events", "--sort-by=.lastTimestamp"),
            self.kubectl("describe", "pods"),
        ]

    def pod_logs(self, pod: str) -> Cmd:
        """The last lines of every container of one pod."""
        return self.kubectl("logs", pod, "--all-containers", "--prefix", "--tail=40")
