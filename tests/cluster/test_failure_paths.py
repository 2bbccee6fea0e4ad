"""The failure paths users meet, on the local cluster, with the exact strings docs/deploy.md's "When
it fails" table promises: an image that is not there (ErrImageNeverPull), a container that exits
(CrashLoopBackOff, event BackOff), a value the chart's schema refuses, and a readiness probe that
fails (event Unhealthy, and `helm upgrade -i --wait` giving up).

The broken releases are installed side by side, then one wait covers all of their events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.helpers.cluster import Run
from tests.helpers.docs import docs_text
from tests.helpers.helm import CHART

pytestmark = pytest.mark.cluster

MISSING_TAG = "0.0.0-not-built"
# The release names double as the Deployments' names (they contain "celsiusify").
NO_IMAGE, CRASHING, UNREADY = "celsiusify-noimage", "celsiusify-crash", "celsiusify-unready"
# Shown by `helm upgrade -i --wait` when the pods never become Ready in time.
WAIT_SECONDS = 20


def events_of(kube: Run, namespace: str, pod_prefix: str) -> list[dict[str, str]]:
    out = kube("get", "events", "-n", namespace, "-o", "json")
    return [
        {"reason": e.get("reason", ""), "message": e.get("message", "")}
        for e in json.loads(out.stdout)["items"]
        if e["involvedObject"].get("name", "").startswith(pod_prefix)
    ]


def waiting_reasons(kube: Run, namespace: str, release: str) -> set[str]:
    out = kube(
        "get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={release}",
        "-o", "jsonpath={.items[*].status.containerStatuses[*].state.waiting.reason}",
    )  # fmt: skip
    return set(out.stdout.split())


def fails_table() -> dict[str, str]:
    """deploy.md's "When it fails" table: first cell (what you see) → the row."""
    text = docs_text("deploy.md")
    assert "### When it fails" in text, "docs/deploy.md has no 'When it fails' table"
    section = text.split("### When it fails", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {row.split("|")[1].strip(): row for row in rows[1:]}


def docs_promise(first_cell: str, *strings: str) -> None:
    """The "When it fails" row that starts with first_cell quotes every one of strings."""
    rows = [row for key, row in fails_table().items() if key.startswith(first_cell)]
    assert rows, f"no docs/deploy.md 'When it fails' row for {first_cell}"
    for text in strings:
        assert text in rows[0], (text, rows[0])


@pytest.fixture(scope="module")
def broken(helm: Run, kube: Run, namespace: str, api_image: str) -> Iterator[dict[str, str]]:
    """Three releases that cannot become Ready, each the way a user gets there."""
    common = ("--namespace", namespace, "--set", "autoscaling.enabled=false",
              "--set", "replicaCount=1")  # fmt: skip
    no_image = helm("upgrade", "-i", NO_IMAGE, str(CHART), *common, "--set",
                    f"image.tag={MISSING_TAG}", "--set", "image.pullPolicy=Never")  # fmt: skip
    assert no_image.returncode == 0, no_image.stderr
    # A setting out of range: the app refuses to start (max_body_bytes must be >= 1024).
    crash = helm("upgrade", "-i", CRASHING, str(CHART), *common,
                 "--set-string", "env.CELSIUSIFY_MAX_BODY_BYTES=10")  # fmt: skip
    assert crash.returncode == 0, crash.stderr
    start = time.monotonic()
    unready = helm("upgrade", "-i", UNREADY, str(CHART), *common,
                   "--set", "probes.readiness.path=/not-a-readiness-path",
                   "--wait", "--timeout", f"{WAIT_SECONDS}s")  # fmt: skip
    yield {"wait_stderr": unready.stderr, "wait_rc": str(unready.returncode),
           "wait_seconds": f"{time.monotonic() - start:.0f}"}  # fmt: skip
    for release in (NO_IMAGE, CRASHING, UNREADY):
        helm("uninstall", release, "--namespace", namespace, "--wait", "--timeout", "60s")


def wait_for(check: object, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(2)


def test_missing_image_with_pull_policy_never(
    broken: dict[str, str], kube: Run, namespace: str
) -> None:
    wait_for(lambda: "ErrImageNeverPull" in waiting_reasons(kube, namespace, NO_IMAGE),
             "ErrImageNeverPull")  # fmt: skip
    events = events_of(kube, namespace, NO_IMAGE)
    expected = (f'Container image "ghcr.io/celsiusify/celsiusify:{MISSING_TAG}" is not present '
                "with pull policy of Never")  # fmt: skip
    assert any(e["reason"] == "ErrImageNeverPull" and expected in e["message"] for e in events), (
        events
    )
    docs_promise("`ErrImageNeverPull`", "is not present with pull policy of Never")


def test_container_that_exits_goes_to_crashloopbackoff(
    broken: dict[str, str], kube: Run, namespace: str
) -> None:
    wait_for(lambda: "CrashLoopBackOff" in waiting_reasons(kube, namespace, CRASHING),
             "CrashLoopBackOff", timeout=120)  # fmt: skip
    events = events_of(kube, namespace, CRASHING)
    assert any(e["reason"] == "BackOff" and "Back-off restarting failed container" in e["message"]
               for e in events), events  # fmt: skip
    docs_promise("`CrashLoopBackOff`", "`BackOff`", "Back-off restarting failed container",
                 "--previous")  # fmt: skip
    # What the docs say to do next: the previous container's log names the setting.
    logs = kube("logs", "-n", namespace, f"deployment/{CRASHING}", "--previous")
    said = logs.stdout + logs.stderr
    assert "celsiusify: invalid setting CELSIUSIFY_MAX_BODY_BYTES='10' (max_body_bytes)" in said, (
        said[-2000:]
    )
    assert "Traceback" not in said


def test_failing_readiness_probe_shows_unhealthy_and_helm_wait_gives_up(
    broken: dict[str, str], kube: Run, namespace: str
) -> None:
    assert broken["wait_rc"] != "0", "helm --wait succeeded with a readiness probe on a 404 path"
    print(f"helm upgrade -i --wait --timeout {WAIT_SECONDS}s gave up after "
          f"{broken['wait_seconds']}s:\n{broken['wait_stderr']}")  # fmt: skip
    assert "context deadline exceeded" in broken["wait_stderr"], broken["wait_stderr"]
    assert f"resource Deployment/{namespace}/{UNREADY} not ready" in broken["wait_stderr"]
    docs_promise("`context deadline exceeded`", "not ready. status: InProgress")
    wait_for(lambda: any(e["reason"] == "Unhealthy" for e in events_of(kube, namespace, UNREADY)),
             "an Unhealthy event")  # fmt: skip
    events = events_of(kube, namespace, UNREADY)
    assert any(
        e["reason"] == "Unhealthy"
        and "Readiness probe failed: HTTP probe failed with statuscode: 404" in e["message"]
        for e in events
    ), events
    docs_promise("`Unhealthy`", "Readiness probe failed: HTTP probe failed with statuscode: 404")


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("replicaCount=-1", "at '/replicaCount': minimum: got -1, want 0"),
        ("image.pullPolicy=Sometimes",
         "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"),
    ],
)  # fmt: skip
def test_bad_value_is_refused_by_the_chart_schema(
    helm: Run, kube: Run, namespace: str, flag: str, message: str
) -> None:
    """helm refuses before sending anything: no release, no object."""
    release = "celsiusify-badvalue"
    refused = helm("upgrade", "-i", release, str(CHART), "--namespace", namespace, "--set", flag)
    assert refused.returncode != 0
    assert "values don't meet the specifications of the schema(s)" in refused.stderr, refused.stderr
    assert message in refused.stderr, refused.stderr
    docs_promise("`values don't meet the specifications of the schema(s)`", "- at '/")
    assert helm("status", release, "--namespace", namespace).returncode != 0
    listed = kube("get", "deployment", release, "-n", namespace, "--ignore-not-found")
    assert listed.stdout.strip() == ""
