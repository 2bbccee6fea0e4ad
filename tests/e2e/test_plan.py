"""The dry-run plan of `python -m e2e`: steps in order, every version pinned, the run's
namespace everywhere, one user class per target, and the images loaded are the ones the releases
run. Each checker is also shown failing on a doctored plan."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import yaml

from e2e.plan import METRICS_SERVER_VERSION, TARGETS
from targets import target_of_user
from tests.helpers.e2e import NAMESPACE, ROOT, TAG, Transcript

Plan = Callable[..., Transcript]
# Commands that name no namespace on purpose: local or cluster-wide reads, and the namespace's own.
CLUSTER_WIDE = (
    ["config"],
    ["top", "pods", "--all-namespaces"],
    ["get", "nodes"],
    ["get", "--raw"],
    ["get", "pods", "--all-namespaces"],
    ["create", "namespace"],
    ["label", "namespace"],
    ["delete", "namespace"],
)


def index(commands: list[list[str]], *words: str, start: int = 0) -> int:
    """Position of the first command (from start) containing all the words in order."""
    for position, command in enumerate(commands[start:], start):
        text = " ".join(command)
        if re.search(".*".join(re.escape(w) for w in words), text):
            return position
    raise AssertionError(f"no command with {words}")


def flag_values(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command[:-1]) if word == flag]


def release_images(commands: list[list[str]]) -> dict[str, str]:
    """release → repository:tag of every `helm upgrade -i` that sets image.repository."""
    images = {}
    for command in commands:
        if command[1:3] == ["upgrade", "-i"]:
            sets = dict(
                v.split("=", 1)
                for v in flag_values(command, "--set") + flag_values(command, "--set-string")
            )
            if "image.repository" in sets:
                images[command[3]] = f"{sets['image.repository']}:{sets['image.tag']}"
    return images


def loaded_images(commands: list[list[str]]) -> set[str]:
    loaded = set()
    for command in commands:
        if command[1:3] == ["load", "docker-image"] or command[1:3] == ["image", "load"]:
            loaded.add(command[3])
        elif command[1:2] == ["push"] or command[1:2] == ["save"]:
            loaded.add(command[2])
    return loaded


def image_mismatch(commands: list[list[str]]) -> list[str]:
    """Images loaded that no release runs, and releases whose image was not loaded."""
    runs, loaded = set(release_images(commands).values()), loaded_images(commands)
    return [f"loaded, not run: {i}" for i in sorted(loaded - runs)] + [
        f"run, not loaded: {i}" for i in sorted(runs - loaded)
    ]


def unpinned(commands: list[list[str]]) -> list[str]:
    """helm installs of a chart from a repository without an exact --version; :latest images."""
    problems = []
    for command in commands:
        if command[1:3] == ["upgrade", "-i"] and not command[4].startswith(
            ("celsiusify-chart", "/", ".")
        ):
            versions = flag_values(command, "--version")
            if len(versions) != 1 or not re.fullmatch(r"\d+\.\d+\.\d+", versions[0]):
                problems.append(" ".join(command[:5]))
        if command[1:2] == ["build"] and any(
            t.endswith(":latest") or ":" not in t for t in flag_values(command, "-t")
        ):
            problems.append(" ".join(command))
    return problems


def outside_namespace(commands: list[list[str]]) -> list[str]:
    """kubectl and helm commands of the run that do not name its namespace."""
    problems = []
    for command in commands:
        tool = command[0].rsplit("/", 1)[-1]
        rest = [w for w in command[1:] if w not in ("--namespace", NAMESPACE)]
        scoped = not any(rest[: len(p)] == p for p in CLUSTER_WIDE)
        if tool == "kubectl" and scoped and flag_values(command, "--namespace") != [NAMESPACE]:
            problems.append(" ".join(command))
        if tool == "helm" and command[1] in ("upgrade", "template", "test", "uninstall"):
            expected = "kube-system" if "metrics-server" in command else NAMESPACE
            if flag_values(command, "--namespace") != [expected]:
                problems.append(" ".join(command))
    return problems


def test_the_plan_runs_and_prints_the_steps_in_order(dry_run: Plan) -> None:
    plan = dry_run("--loader", "kind")
    assert plan.returncode == 0, "\n".join(plan.lines[-20:])
    numbers = [int(line[1]) for line in plan.steps()]
    assert numbers == [1, 2, 3, 4, 5, 7, 8], plan.steps()
    assert "Gate: not evaluated (dry run)" in "\n".join(plan.lines)


def test_the_commands_come_in_the_documented_order(dry_run: Plan) -> None:
    commands = dry_run("--loader", "kind").commands
    order = [
        index(commands, "get", "--raw", "/readyz"),
        index(commands, "docker", "build", f"celsiusify:{TAG}"),
        index(commands, "kind", "load", f"celsiusify:{TAG}"),
        index(commands, "docker", "build", f"celsiusify-tfserving:{TAG}"),
        index(commands, "top", "pods"),
        index(commands, "upgrade", "-i", "metrics-server"),
        index(commands, "create", "namespace"),
        index(commands, "upgrade", "-i", "celsiusify celsiusify-chart"),
        index(commands, "helm", "test", "celsiusify "),
        index(commands, "upgrade", "-i", "celsiusify-tfserving celsiusify-chart"),
        index(commands, "helm", "test", "celsiusify-tfserving"),
        index(commands, "apply"),  # the ConfigMaps
        index(commands, "upgrade", "-i", "locust-celsiusify"),
        index(commands, "cp", "/results"),
        index(commands, "uninstall", "locust-celsiusify"),
        index(commands, "upgrade", "-i", "locust-tfserving"),
        index(commands, "uninstall", "locust-tfserving"),
        index(commands, "bench", "import", "--target celsiusify"),
        index(commands, "bench", "import", "--target tfserving"),
        index(commands, "bench", "report"),
        index(commands, "uninstall", "celsiusify-tfserving"),
        index(commands, "delete", "namespace"),
        index(commands, "uninstall", "metrics-server"),
    ]
    assert order == sorted(order), order


def test_every_version_is_pinned(dry_run: Plan) -> None:
    commands = dry_run("--loader", "kind").commands
    assert unpinned(commands) == []
    metrics = commands[index(commands, "upgrade", "-i", "metrics-server")]
    assert flag_values(metrics, "--version") == [METRICS_SERVER_VERSION]
    assert "args={--kubelet-insecure-tls}" in flag_values(metrics, "--set")
    locust = commands[index(commands, "upgrade", "-i", "locust-celsiusify")]
    assert flag_values(locust, "--version") == ["0.35.0"]
    kind = yaml.safe_load((ROOT / "e2e" / "values" / "kind-config.yaml").read_text())
    assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", kind["nodes"][0]["image"])
    values = yaml.safe_load((ROOT / "locust" / "values.yaml").read_text())["image"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(values["tag"]))


def test_the_pin_checker_fails_on_an_unpinned_chart_and_a_latest_image() -> None:
    assert unpinned([["helm", "upgrade", "-i", "m", "metrics-server/metrics-server"]])
    assert unpinned([["docker", "build", "-t", "celsiusify:latest", "."]])


def test_the_run_namespace_is_used_everywhere(dry_run: Plan) -> None:
    commands = dry_run("--loader", "kind").commands
    assert outside_namespace(commands) == []
    for target in TARGETS.values():
        locust = commands[index(commands, "upgrade", "-i", target.locust_release)]
        host = next(
            v for v in flag_values(locust, "--set-string") if v.startswith("loadtest.locust_host=")
        )
        assert (
            host == f"loadtest.locust_host=http://{target.release}.{NAMESPACE}.svc.cluster.local:80"
        )


def test_the_namespace_checker_fails_on_a_command_without_it() -> None:
    assert outside_namespace([["kubectl", "get", "pods"]])
    assert outside_namespace([["helm", "test", "celsiusify", "--namespace", "default"]])


def test_each_target_is_loaded_by_its_own_user_class(dry_run: Plan) -> None:
    commands = dry_run("--loader", "kind").commands
    for target in TARGETS.values():
        locust = commands[index(commands, "upgrade", "-i", target.locust_release)]
        sets = flag_values(locust, "--set-string")
        assert f"loadtest.environment.LOCUST_USER_CLASSES={target.user_class}" in sets
        assert f"loadtest.environment.LOAD_TARGET={target.name}" in sets
        assert target_of_user(target.user_class) == target.name  # as `bench run` names it


@pytest.mark.parametrize(
    ("loader", "expected"),
    [
        ("kind", {f"celsiusify:{TAG}", f"celsiusify-tfserving:{TAG}"}),
        ("minikube", {f"celsiusify:{TAG}", f"celsiusify-tfserving:{TAG}"}),
        ("local-cluster", {f"celsiusify:{TAG}", f"celsiusify-tfserving:{TAG}"}),
        (
            "registry=ghcr.io/me",
            {f"ghcr.io/me/celsiusify:{TAG}", f"ghcr.io/me/celsiusify-tfserving:{TAG}"},
        ),
    ],
)
def test_the_images_loaded_are_the_ones_the_releases_run(
    dry_run: Plan, loader: str, expected: set[str]
) -> None:
    commands = dry_run("--loader", loader).commands
    assert image_mismatch(commands) == []
    assert loaded_images(commands) == expected
    tfserving = commands[index(commands, "upgrade", "-i", "celsiusify-tfserving")]
    # TF Serving's test pod runs the API image (its own has no HTTP client): the loaded one.
    api = next(image for image in expected if "tfserving" not in image)
    assert f"tests.image={api}" in flag_values(tfserving, "--set")


def test_the_image_checker_fails_when_a_release_runs_another_tag() -> None:
    commands = [
        ["kind", "load", "docker-image", "celsiusify:e2e-1"],
        [
            "helm",
            "upgrade",
            "-i",
            "celsiusify",
            "celsiusify-chart",
            "--set",
            "image.repository=celsiusify",
            "--set-string",
            "image.tag=e2e-2",
        ],
    ]
    assert image_mismatch(commands) == [
        "loaded, not run: celsiusify:e2e-1",
        "run, not loaded: celsiusify:e2e-2",
    ]


def test_the_short_shape_and_workers_reach_the_locust_release(dry_run: Plan) -> None:
    commands = dry_run("--loader", "kind", "--shape", "short", "--workers", "1").commands
    locust = commands[index(commands, "upgrade", "-i", "locust-celsiusify")]
    sets = flag_values(locust, "--set-string")
    assert "loadtest.environment.STEP_SECONDS=40" in sets
    assert "loadtest.environment.STEP_MAX_USERS=12" in sets
    assert "worker.replicas=1" in flag_values(locust, "--set")
    assert "master.environment.LOCUST_EXPECT_WORKERS=1" in sets


def test_kind_create_comes_first_and_is_deleted_last(dry_run: Plan) -> None:
    commands = dry_run("--kind-create").commands
    create = index(commands, "kind", "create", "cluster", "--config", "e2e/values/kind-config.yaml")
    assert create < index(commands, "get", "--raw", "/readyz")
    assert index(commands, "kind", "delete", "cluster") == len(commands) - 1


def test_keep_leaves_everything_installed(dry_run: Plan) -> None:
    plan = dry_run("--loader", "kind", "--keep")
    clean_up = plan.lines[
        next(i for i, line in enumerate(plan.lines) if line.startswith("[8/8]")) :
    ]
    assert not [line for line in clean_up if line.startswith("  $ ")]
    assert any("--keep: left namespace" in line for line in clean_up)


def test_the_namespace_enforces_pod_security_restricted_before_anything_is_installed(
    dry_run: Plan,
) -> None:
    commands = dry_run("--loader", "kind").commands
    labelled = index(commands, "label", "namespace", NAMESPACE, "pod-security.kubernetes.io")
    assert commands[labelled][4:] == [
        f"pod-security.kubernetes.io/{mode}=restricted" for mode in ("enforce", "audit", "warn")
    ]
    assert index(commands, "create", "namespace") < labelled
    assert labelled < index(commands, "upgrade", "-i", "celsiusify celsiusify-chart")


def test_the_locust_workers_cpu_is_recorded_beside_each_hpa(dry_run: Plan) -> None:
    lines = dry_run("--loader", "kind").lines
    for target in TARGETS.values():
        hpa = lines.index(
            next(
                line for line in lines if line.startswith(f"  recording the HPA {target.release} ")
            )
        )
        assert lines[hpa + 1] == (
            "  recording the Locust workers' CPU every 5 s into loadgen_pods.csv "
            "(bench.measure.loadgen: kubectl get pods.metrics.k8s.io -l component=worker,"
            f"app.kubernetes.io/instance={target.locust_release} -o json)"
        )


STANDIN_PLAN = ("--loader", "local-cluster", "--standin", "tfserving", "--max-replicas",
                "celsiusify=2", "--max-replicas", "tfserving=1", "--shape", "short",
                "--workers", "1")  # fmt: skip


def test_the_stand_in_is_built_loaded_and_run_under_its_own_name(dry_run: Plan) -> None:
    plan = dry_run(*STANDIN_PLAN)
    assert plan.returncode == 0, "\n".join(plan.lines[-20:])
    commands = plan.commands
    standin = f"celsiusify-tfserving-standin:{TAG}"
    build = commands[index(commands, "docker", "build", standin)]
    assert build[-3:] == ["-f", "tests/standins/Dockerfile.tfserving", "tests/standins"]
    assert image_mismatch(commands) == []
    assert loaded_images(commands) == {f"celsiusify:{TAG}", standin}
    assert release_images(commands)["celsiusify-tfserving"] == standin
    # Only the image differs: the release keeps the TF Serving values, probes and test pod.
    release = commands[index(commands, "upgrade", "-i", "celsiusify-tfserving celsiusify-chart")]
    assert flag_values(release, "-f") == ["tfserving/values.yaml", "e2e/values/tfserving.yaml"]
    assert index(commands, "helm", "test", "celsiusify-tfserving") > 0
    assert index(commands, "upgrade", "-i", "locust-tfserving") > 0
    # Labelled a stand-in: on its import (meta.json), in the transcript and in the summary.
    tf_import = commands[index(commands, "bench", "import", "--target tfserving")]
    assert "--standin" in tf_import
    assert "not TF Serving" in flag_values(tf_import, "--standin")[0]
    assert "--standin" not in commands[index(commands, "bench", "import", "--target celsiusify")]
    text = "\n".join(plan.lines)
    assert f"tfserving runs a STAND-IN image, {standin}" in text
    assert f"**tfserving ran a STAND-IN image, `{standin}`**" in text
    # Its clean-up removes the stand-in image it loaded.
    assert index(commands, "images", "rm", f"docker.io/library/{standin}") > 0


def test_max_replicas_lowers_the_hpa_and_the_cpu_the_run_checks(dry_run: Plan) -> None:
    plan = dry_run(*STANDIN_PLAN)
    commands = plan.commands
    for release, maximum in (("celsiusify", "2"), ("celsiusify-tfserving", "1")):
        install = commands[index(commands, "upgrade", "-i", f"{release} celsiusify-chart")]
        assert flag_values(install, "--set")[-1] == f"autoscaling.maxReplicas={maximum}"
    # 2 x 250m + 1 x 500m + the Locust master (100m) and one worker (400m):
    assert (
        "  the run requests 1500m CPU at its peak; checked against the allocatable CPU the "
        "nodes have free" in plan.lines
    )
