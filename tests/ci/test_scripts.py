"""scripts/: every script explains itself on -h; the cluster scripts read as a table of contents.

The shell scripts run with -h and --help on a PATH that holds only `dirname` and `cat`: the
usage needs nothing else, so any other command the script reached for would fail loudly here
(no root, Docker, Go or cluster involved). scripts/cluster/{up,down,build}.sh end in a `main`
that calls their start_/stop_/build_ steps; the order they are defined in is the order they run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
BASH = shutil.which("bash") or "/bin/bash"

# Run, not sourced: a shebang. versions.sh and env.sh are sourced by the others.
SHELL_SCRIPTS = sorted(
    path for path in SCRIPTS.rglob("*.sh") if path.read_text().startswith("#!/usr/bin/env bash")
)
PYTHON_SCRIPTS = sorted(SCRIPTS.rglob("*.py"))
# Script and the prefix of its step functions.
TABLES_OF_CONTENTS = {
    "cluster/up.sh": "start_",
    "cluster/down.sh": "stop_",
    "cluster/build.sh": "build_",
}
FUNCTION = re.compile(r"^([a-z_][a-z0-9_]*)\(\) \{", re.MULTILINE)


def rel(path: Path) -> str:
    return str(path.relative_to(SCRIPTS))


@pytest.fixture(scope="module")
def usage_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH with only what printing a usage needs."""
    bin_dir = tmp_path_factory.mktemp("bin")
    for tool in ("dirname", "cat"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_the_lists_see_the_scripts() -> None:
    names = {rel(path) for path in SHELL_SCRIPTS}
    assert {"cluster/up.sh", "cluster/down.sh", "cluster/build.sh", "images/locust.sh"} <= names
    assert "cluster/versions.sh" not in names
    assert {rel(path) for path in PYTHON_SCRIPTS} == {
        "ci/summary.py",
        "cluster/image.py",
        "tools/chartdocs.py",
    }


@pytest.mark.parametrize("flag", ["-h", "--help"])
@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=rel)
def test_shell_script_prints_its_usage_and_runs_nothing(
    script: Path, flag: str, usage_path: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [BASH, str(script), flag],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PATH": usage_path},
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"usage: scripts/{rel(script)}"), result.stdout


@pytest.mark.parametrize("script", PYTHON_SCRIPTS, ids=rel)
def test_python_script_prints_its_usage(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), "-h"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:"), result.stdout


def section(text: str, start: str, end: str) -> str:
    """The lines between the comments starting `# --- START` and `# --- END`."""
    found = re.search(rf"^# --- {start}.*?\n(.*?)^# --- {end}", text, re.DOTALL | re.MULTILINE)
    assert found, f"no '# --- {start}' ... '# --- {end}' section"
    return found.group(1)


def main_calls(text: str) -> list[str]:
    """The bare command names main() runs, in order (its `case` for -h left out)."""
    body = re.search(r"^main\(\) \{\n(.*?)^\}\n", text, re.DOTALL | re.MULTILINE)
    assert body, "no main() { ... } block"
    after_case = body.group(1).split("\n    esac\n", 1)[-1]
    return [
        match.group(1)
        for line in after_case.splitlines()
        if (match := re.fullmatch(r"\s*([a-z_][a-z0-9_]*)", line))
    ]


@pytest.mark.parametrize(("script", "prefix"), TABLES_OF_CONTENTS.items())
def test_main_runs_every_step_once_in_the_order_defined(script: str, prefix: str) -> None:
    text = (SCRIPTS / script).read_text()
    steps = FUNCTION.findall(section(text, "steps", "main"))
    assert len([name for name in steps if name.startswith(prefix)]) >= 3, steps
    assert main_calls(text) == steps
    assert text.rstrip().endswith('main "$@"')


@pytest.mark.parametrize(("script", "prefix"), TABLES_OF_CONTENTS.items())
def test_every_step_named_so_is_in_the_steps(script: str, prefix: str) -> None:
    """A helper called start_/stop_/build_ would read as a step that main forgot."""
    text = (SCRIPTS / script).read_text()
    steps = FUNCTION.findall(section(text, "steps", "main"))
    assert [name for name in FUNCTION.findall(text) if name.startswith(prefix)] == [
        name for name in steps if name.startswith(prefix)
    ]


@pytest.mark.parametrize("script", TABLES_OF_CONTENTS)
def test_every_function_is_called(script: str) -> None:
    text = (SCRIPTS / script).read_text()
    unused = [
        name
        for name in FUNCTION.findall(text)
        if len(re.findall(rf"(?<![\w-]){name}(?![\w-])", text)) < 2
    ]
    assert not unused, unused


def test_up_starts_the_components_in_the_order_the_cluster_needs() -> None:
    """etcd before the API server, containerd before the kubelet, the node before the add-ons,
    and the policy agent and Prometheus last: both read the API and watch the node's pods."""
    calls = main_calls((SCRIPTS / "cluster/up.sh").read_text())
    assert [name for name in calls if name.startswith("start_")] == [
        "start_bridge",
        "start_etcd",
        "start_apiserver",
        "start_controller_manager",
        "start_scheduler",
        "start_containerd",
        "start_image_imports",
        "start_kubelet",
        "start_kube_proxy",
        "start_addons",
        "start_network_policies",
        "start_prometheus",
    ]
