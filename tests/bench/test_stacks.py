"""`make bench` (`python -m bench stacks`): TF Serving's path end to end against the stand-in,
the refusal of bad input before anything is written, and `bench run` stopped by Ctrl-C or
SIGTERM leaving no cgroup and no process. Step loads are tiny (2 steps of 4 s)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from pypdf import PdfReader

from bench.analyse import compare
from bench.measure import stacks
from bench.measure.allotment import DEFAULT_PERIOD_US, default_cpus
from bench.measure.cgroups import AllotmentUnavailable, Hierarchy, locate
from bench.measure.procs import free_port
from bench.report import report
from bench.results import write_comparison
from tests.helpers.standin import tfserving_standin

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--start-users", "2", "--step-users", "2", "--max-users", "4", "--step-seconds", "4"]


def usable_cgroups() -> Hierarchy:
    """The cgroup hierarchy bench holds servers in, or skip saying why there is none."""
    try:
        return locate()
    except AllotmentUnavailable as error:
        pytest.skip(f"no usable cgroup here ({error.reason}): bench falls back to pinning")


# --- TF Serving's path against the stand-in --------------------------------------------------


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `bench stacks` with the stand-in as TF Serving (--tfserving-url, --tfserving-pid)."""
    usable_cgroups()
    folder = tmp_path_factory.mktemp("stacks") / "20260101T000000Z-compare"
    with tfserving_standin() as (process, base):
        own_cgroup = Path(f"/proc/{process.pid}/cgroup").read_text()
        result = subprocess.run(
            [sys.executable, "-m", "bench", "stacks", "--out", str(folder), *TINY,
             "--tfserving-url", base, "--tfserving-pid", str(process.pid)],
            cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert process.poll() is None  # held, not harmed
        assert Path(f"/proc/{process.pid}/cgroup").read_text() == own_cgroup  # put back
    return folder


@pytest.mark.locust
def test_both_runs_are_written_and_the_stand_in_is_labelled(comparison: Path) -> None:
    recorded = json.loads((comparison / "comparison.json").read_text())
    assert recorded["runs"] == ["celsiusify", "tfserving"]
    assert recorded["skipped"] == {}
    assert recorded["allotment"] == {"cpus": default_cpus(), "period_us": DEFAULT_PERIOD_US}
    metas = {name: json.loads((comparison / name / "meta.json").read_text())
             for name in recorded["runs"]}  # fmt: skip
    assert metas["tfserving"]["standin"] is True
    assert metas["celsiusify"]["standin"] is False
    assert metas["tfserving"]["user_class"] == "TFServingUser"
    assert metas["celsiusify"]["user_class"] == "CelsiusifyGetUser"
    for name, meta in metas.items():
        assert meta["allotment"]["method"] == "cgroup", name
        assert meta["allotment"]["cpus"] == default_cpus()
        assert meta["allotment"]["quota_us"] == round(default_cpus() * DEFAULT_PERIOD_US)
        assert meta["server_cpus"] == default_cpus()
        assert meta["step_load"]["step_seconds"] == 4
        assert (comparison / name / "throttling.csv").stat().st_size > 0
        assert (comparison / name / "summary.csv").is_file()
    assert "--pid" in metas["tfserving"]["command"]


@pytest.mark.locust
def test_the_report_and_compare_refuse_the_stand_in_a_verdict(
    comparison: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report.main([str(comparison)]) == 0
    first = " ".join(PdfReader(comparison / "report.pdf").pages[0].extract_text().split())
    assert "No verdict: TF Serving answered as a stand-in" in first
    assert "tfserving (STAND-IN)" in first
    assert "×" not in first
    assert "STAND-IN" in (comparison / "summary.md").read_text()
    capsys.readouterr()
    assert compare.main([str(comparison)]) == 0
    assert capsys.readouterr().out.startswith("No verdict: TF Serving answered as a stand-in")


# --- bad input: one line, exit 2, nothing written --------------------------------------------


def refused(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `bench stacks` expecting a refusal; its one line."""
    results = tmp_path / "results"
    assert stacks.main([*argv, "--results", str(results)]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    assert not results.exists()
    return lines[0]


def test_a_tfserving_url_that_does_not_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = refused(["--tfserving-url", url], tmp_path, capsys)
    assert line.startswith(f"bench: --tfserving-url {url} does not answer: cannot connect")


def test_a_tfserving_url_without_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tfserving_standin(model="other") as (_, base):
        line = refused(["--tfserving-url", base], tmp_path, capsys)
    assert "answers GET /v1/models/celsiusify with HTTP 404" in line
    assert line.endswith("not TF Serving with model celsiusify loaded")


def test_a_tfserving_url_that_is_not_tfserving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while stacks.measurement.unreachable(f"http://127.0.0.1:{port}"):
            assert time.monotonic() < deadline, "http.server did not start"
            time.sleep(0.05)
        line = refused(["--tfserving-url", f"http://127.0.0.1:{port}"], tmp_path, capsys)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "with HTTP 404" in line
    assert line.endswith("not TF Serving with model celsiusify loaded")


def test_a_tfserving_pid_that_is_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    with tfserving_standin() as (_, base):
        line = refused(["--tfserving-url", base, "--tfserving-pid", str(gone.pid)], tmp_path,
                       capsys)  # fmt: skip
    assert line == f"bench: --tfserving-pid {gone.pid} is not running"


def test_a_tfserving_pid_needs_its_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(["--tfserving-pid", str(os.getpid())], tmp_path, capsys)
    assert line == "bench: --tfserving-pid and --tfserving-container need --tfserving-url"


@pytest.mark.parametrize("cpus", ["0", "-1", str((os.cpu_count() or 1) + 1)])
@pytest.mark.parametrize("command", ["stacks", "run"])
def test_server_cpus_out_of_range_are_one_line(
    command: str, cpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, "-m", "bench", command, "--server-cpus", cpus, "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stdout.strip().splitlines()
    assert lines == [lines[0]]
    assert lines[0].startswith("bench: --server-cpus: cpus must be more than 0 and at most")
    assert not results.exists()


@pytest.mark.parametrize(
    ("period", "words"),
    [("7s", "give microseconds or milliseconds"), ("1ms", "under the kernel's 1000 us floor")],
)
def test_a_bad_cpu_period_is_one_line(
    period: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert words in refused(["--cpu-period", period], tmp_path, capsys)


# --- Ctrl-C and SIGTERM ----------------------------------------------------------------------


def _default_sigint() -> None:
    # A child of a shell without job control inherits SIGINT ignored; a user's Ctrl-C is not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.locust
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_stopped_bench_run_leaves_no_cgroup_and_no_process(signum: int, tmp_path: Path) -> None:
    hierarchy = usable_cgroups()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--run-dir", str(tmp_path / "run"),
         "--start-users", "2", "--step-users", "2", "--max-users", "2", "--step-seconds", "60"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_default_sigint,  # noqa: PLW1509 (sets one signal disposition, nothing else)
    )  # fmt: skip
    try:
        assert process.stdout is not None
        deadline, seen = time.monotonic() + 60, ""
        while "bench: target" not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([process.stdout], [], [], 1)[0]:
                seen += process.stdout.readline()
        time.sleep(3)  # Locust is loading the app
        ours = sorted(hierarchy.cpu.glob(f"celsiusify-bench-{process.pid}-*"))
        assert len(ours) == 2, ours  # the server's allotment and the generator's reservation
        held = [
            int(pid) for folder in ours for pid in (folder / "cgroup.procs").read_text().split()
        ]
        assert len(held) >= 2, held  # the app, Locust
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == (130 if signum == signal.SIGINT else 143), output
    assert "bench: stopped by" in output
    assert list(hierarchy.cpu.glob(f"celsiusify-bench-{process.pid}-*")) == []
    assert not any(folder.exists() for folder in ours)
    alive = [pid for pid in held if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
    assert alive == []


def test_a_comparison_without_tfserving_says_why_on_page_one(
    local_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "20260101T000000Z-compare"
    folder.mkdir()
    local_run.rename(folder / "celsiusify")
    why = "no image celsiusify-tfserving:dev and no base tensorflow/serving:2.18.0"
    write_comparison(folder, {"runs": ["celsiusify"], "skipped": {"tfserving": why}})
    assert report.main([str(folder)]) == 0
    first = " ".join(PdfReader(folder / "report.pdf").pages[0].extract_text().split())
    assert f"No verdict: TF Serving was not run: {why}." in first
    assert f"No verdict: TF Serving was not run: {why}." in (folder / "summary.md").read_text()
    capsys.readouterr()
    assert compare.main([str(folder)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"No verdict: TF Serving was not run: {why}."
