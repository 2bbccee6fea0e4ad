"""scripts/ci/summary.py: what .ci/run prints and fails on after each suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ci" / "summary.py"


def junit(tmp_path: Path, cases: str, tests: int, skipped: int, failures: int = 0) -> Path:
    report = tmp_path / "report.xml"
    report.write_text(
        f'<testsuites><testsuite name="pytest" tests="{tests}" skipped="{skipped}" '
        f'failures="{failures}" errors="0">{cases}</testsuite></testsuites>',
        encoding="utf-8",
    )
    return report


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False
    )


PASSED = '<testcase classname="tests.docker.test_image" name="test_builds"/>'
SKIPPED = (
    '<testcase classname="tests.cluster.test_fixture" name="test_node">'
    '<skipped message="no local cluster: run make cluster-up"/></testcase>'
)


def test_counts_per_folder_skip_reasons_and_totals(tmp_path: Path) -> None:
    tally = tmp_path / "tally"
    report = junit(tmp_path, PASSED + SKIPPED, tests=2, skipped=1)
    result = run("suite", report, "main suite", "--tally", tally)
    assert result.returncode == 0, result.stderr
    assert "ci: main suite: 1 tests ran, 1 skipped, 0 failed" in result.stdout
    assert "ci: main suite: tests/docker: 1 ran, 0 skipped" in result.stdout
    assert "ci: main suite: tests/cluster: 0 ran, 1 skipped" in result.stdout
    assert "SKIPPED tests.cluster.test_fixture.test_node: no local cluster" in result.stdout
    assert run("suite", report, "again", "--tally", tally).returncode == 0
    total = run("total", "--tally", tally)
    assert total.stdout.strip() == "ci: 2 passed, 0 failed, 2 skipped"


def test_a_suite_where_nothing_ran_fails(tmp_path: Path) -> None:
    report = junit(tmp_path, SKIPPED, tests=1, skipped=1)
    result = run("suite", report, "cluster suite", "--tally", tmp_path / "tally")
    assert result.returncode == 1
    assert "no test ran" in result.stderr


def test_no_skips_fails_on_any_skip(tmp_path: Path) -> None:
    report = junit(tmp_path, PASSED + SKIPPED, tests=2, skipped=1)
    tally = tmp_path / "tally"
    assert run("suite", report, "tf", "--tally", tally).returncode == 0
    strict = run("suite", report, "tf", "--tally", tally, "--no-skips")
    assert strict.returncode == 1
    assert "1 skipped where every test must run" in strict.stderr


def test_failures_are_counted(tmp_path: Path) -> None:
    tally = tmp_path / "tally"
    report = junit(tmp_path, PASSED, tests=3, skipped=0, failures=1)
    run("suite", report, "main", "--tally", tally)
    assert run("total", "--tally", tally).stdout.strip() == "ci: 2 passed, 1 failed, 0 skipped"
