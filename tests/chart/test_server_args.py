"""The server's flags, rendered from values by one helper ("celsiusify.args" in _helpers.tpl):
the port from containerPort, the shutdown timings from server.*, server.extraArgs for the rest;
explicit `args` for another server (TF Serving) replace them whole. The drain the grace period
must cover follows from the same values (issue 15, item 7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.server import parse_args
from tests.helpers.helm import CHART, ROOT, Objects, run_helm
from tests.helpers.objects import APP, app_flags, one
from tests.k8s_rules import violations

pytestmark = pytest.mark.helm

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 -- what the pod's server binds, not a socket of the test's
GRACE_MESSAGE = "shutdown.terminationGracePeriodSeconds (15) must be at least"


def container(objects: Objects) -> dict[str, Any]:
    (main,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(main)


def image_cmd() -> list[str]:
    """The API image's CMD (the last exec-form CMD at the start of a line of ./Dockerfile)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("CMD ")][-1:]
    cmd = json.loads(line.removeprefix("CMD "))
    return [str(item) for item in cmd]


def refusal(helm: str, *args: str) -> str:
    result = run_helm(helm, "template", "demo", str(CHART), *args)
    assert result.returncode != 0, "rendered values the chart should refuse"
    return result.stderr


def test_defaults_render_one_item_per_flag(render: Callable[..., Objects]) -> None:
    assert container(render())["args"] == [
        *APP,
        f"--host={ALL_INTERFACES}",
        "--port=8080",
        "--shutdown-delay=2",
        "--timeout-graceful-shutdown=5",
        "--forwarded-allow-ips=*",
        "--proxy-headers",
    ]


def test_defaults_start_the_app_as_the_image_does(render: Callable[..., Objects]) -> None:
    # The chart's args replace the image's CMD: same program, and the same options once the
    # app's own parser has read both (the chart writes --flag=value, the Dockerfile --flag value).
    cmd = image_cmd()
    assert cmd[:3] == APP
    assert app_flags(container(render())) == parse_args(cmd[3:])


def test_values_move_the_flags(render: Callable[..., Objects]) -> None:
    main = container(
        render(
            sets=(
                "containerPort=9090",
                "server.host=::",
                "server.shutdownDelaySeconds=1.5",
                "server.timeoutGracefulShutdownSeconds=4",
            )
        )
    )
    flags = app_flags(main)
    assert flags is not None
    assert (flags.host, flags.port) == ("::", 9090)
    assert (flags.shutdown_delay, flags.timeout_graceful_shutdown) == (1.5, 4)
    assert main["ports"][0]["containerPort"] == 9090
    assert {"--proxy-headers", "--forwarded-allow-ips=*"} <= set(main["args"])


def test_extra_args_true_bare_false_or_null_left_out(
    render: Callable[..., Objects], tmp_path: Path
) -> None:
    values = tmp_path / "extra.yaml"
    values.write_text(
        "server:\n"
        "  extraArgs:\n"
        "    proxy-headers: false\n"  # a default switched off
        "    forwarded-allow-ips: null\n"  # a default removed (Helm drops null keys)
        "    zeta: 3\n"
        "    alpha: a b\n"
        "    beta: true\n"
    )
    args = container(render(str(values)))["args"]
    assert args[7:] == ["--alpha=a b", "--beta", "--zeta=3"]  # in key order, after the managed
    assert not [arg for arg in args if "proxy-headers" in arg or "forwarded-allow-ips" in arg]


def test_extra_args_reach_the_app_as_its_options(render: Callable[..., Objects]) -> None:
    # Only the app's own flags exist today, so trust a narrower proxy range through extraArgs.
    main = container(render(sets=("server.extraArgs.forwarded-allow-ips=10.0.0.0/8",)))
    flags = app_flags(main)
    assert flags is not None
    assert flags.forwarded_allow_ips == "10.0.0.0/8"
    assert flags.proxy_headers is True


@pytest.mark.parametrize(
    ("flag", "key"),
    [
        ("port", "containerPort"),
        ("host", "server.host"),
        ("shutdown-delay", "server.shutdownDelaySeconds"),
        ("timeout-graceful-shutdown", "server.timeoutGracefulShutdownSeconds"),
    ],
)
def test_extra_args_may_not_repeat_a_managed_flag(helm: str, flag: str, key: str) -> None:
    # argparse keeps the last one: --port there would move the server off the probes' port.
    stderr = refusal(helm, "--set", f"server.extraArgs.{flag}=9")
    assert f"server.extraArgs.{flag} repeats a flag" in stderr, stderr
    assert f"set {key} instead" in stderr


# --- the drain follows from the flags ------------------------------------------------------------


def test_a_longer_graceful_timeout_needs_a_longer_grace_period(
    helm: str, render: Callable[..., Objects]
) -> None:
    # Before, the timings lived in args and processDrainSeconds (7) separately: raising
    # --timeout-graceful-shutdown left the check blind. Now 5 + 2 + 20 > 15 is refused ...
    stderr = refusal(helm, "--set", "server.timeoutGracefulShutdownSeconds=20")
    assert GRACE_MESSAGE in stderr, stderr
    assert "(27)" in stderr
    # ... and the fractional delay counts whole seconds: 5 + ceil(4.5) + 5 = 15 fits, 5.5 not.
    assert "(16)" in refusal(helm, "--set", "server.shutdownDelaySeconds=5.5")
    objects = render(sets=("server.shutdownDelaySeconds=4.5",))
    assert violations(objects, drain_seconds=10) == []
    assert violations(objects, drain_seconds=11) != []  # the rules check can fail here
    # With room given, it renders and the API server's rules agree with the chart.
    longer = (
        "server.timeoutGracefulShutdownSeconds=20",
        "shutdown.terminationGracePeriodSeconds=27",
    )
    objects = render(sets=longer)
    assert violations(objects, drain_seconds=27 - 5) == []


def test_process_drain_seconds_may_add_room_but_not_claim_less(
    helm: str, render: Callable[..., Objects]
) -> None:
    stderr = refusal(helm, "--set", "shutdown.processDrainSeconds=3")
    assert "shutdown.processDrainSeconds (3) is less than the app's own drain" in stderr, stderr
    assert "(7)" in stderr
    assert GRACE_MESSAGE in refusal(helm, "--set", "shutdown.processDrainSeconds=11")
    objects = render(sets=("shutdown.processDrainSeconds=10",))  # 5 + 10 = 15: fits
    assert app_flags(container(objects)) == app_flags(container(render()))


# --- explicit args: another server, and users' values files from before server.* ---------------

OLD_DEFAULT_ARGS = [
    "python", "-m", "app", "--host", ALL_INTERFACES, "--port", "{{ .Values.containerPort }}",
    "--proxy-headers", "--forwarded-allow-ips", "*",
    "--shutdown-delay", "2", "--timeout-graceful-shutdown", "5",
]  # fmt: skip


def test_values_files_with_the_old_args_list_still_work(
    render: Callable[..., Objects], tmp_path: Path
) -> None:
    # Chart 0.2.0's default args and processDrainSeconds, as a user's values file may copy them.
    values = tmp_path / "old.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "args": OLD_DEFAULT_ARGS,
                "containerPort": 9000,
                "shutdown": {"processDrainSeconds": 7},
            },
        )
    )
    main = container(render(str(values)))
    assert main["args"][:6] == OLD_DEFAULT_ARGS[:6]
    assert main["args"][6] == "9000"  # tpl still fills containerPort in
    assert app_flags(main) == app_flags(container(render(sets=("containerPort=9000",))))


def test_explicit_args_replace_the_app_flags_whole(render: Callable[..., Objects]) -> None:
    main = container(render("tfserving/values.yaml"))
    expected = yaml.safe_load((ROOT / "tfserving" / "values.yaml").read_text())["args"]
    assert main["args"] == [arg.replace("{{ .Values.containerPort }}", "8501") for arg in expected]
    assert app_flags(main) is None
    assert not [arg for arg in main["args"] if "proxy" in arg or "shutdown" in arg]


def test_explicit_args_keep_their_own_drain(helm: str, render: Callable[..., Objects]) -> None:
    # TF Serving's processDrainSeconds (1) is below the app's 7: allowed, as the app is not run.
    objects = render("tfserving/values.yaml")
    assert violations(objects, drain_seconds=1) == []
    stderr = refusal(
        helm, "-f", "tfserving/values.yaml", "--set", "shutdown.terminationGracePeriodSeconds=5"
    )
    assert "shutdown.terminationGracePeriodSeconds (5) must be at least" in stderr, stderr
    assert "(6)" in stderr
