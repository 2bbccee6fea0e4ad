"""A short real `bench run` against the local app, then `bench report` on its CSVs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from bench import results
from bench.measure import run
from bench.measure.allotment import DEFAULT_PERIOD_US, default_cpus
from bench.report import report

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.locust


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench") / "20260101T000000Z-celsiusify"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--run-dir", str(folder), "--start-users", "1",
         "--step-users", "2", "--step-seconds", "5", "--max-users", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "users=" in result.stdout  # progress is visible while it runs
    return folder


def test_run_writes_the_results_folder(run_dir: Path) -> None:
    for name in ("celsiusify_stats.csv", "celsiusify_stats_history.csv",
                 "celsiusify_failures.csv", "meta.json", "summary.csv", "cpu.csv",
                 "celsiusify_locust.html"):  # fmt: skip
        assert (run_dir / name).is_file(), name
    assert "<html" in (run_dir / "celsiusify_locust.html").read_text().lower()  # Locust's own
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["user_class"] == "CelsiusifyGetUser"
    assert meta["machine"]["cpu_cores"] >= 1
    assert meta["machine"]["packages"]["locust"]
    assert meta["loadgen_cpu_percent"]["max"] > 0
    assert meta["locust_exit_code"] == 0
    rows = results.read_csv(run_dir / "summary.csv", results.SUMMARY_COLUMNS)
    assert [int(row["users"]) for row in rows] == [1, 3]
    assert all(int(row["failures"]) == 0 for row in rows)
    assert all(float(row["rps"]) > 10 for row in rows)
    assert sum(row["is_capacity"] == "True" for row in rows) == 1


def test_run_holds_the_app_in_the_cpu_allotment(run_dir: Path) -> None:
    meta = json.loads((run_dir / "meta.json").read_text())
    allotment = meta["allotment"]
    if allotment["method"] == "pinned":  # no writable cgroup here: today's pinning instead
        assert meta["limit"] == "lower bound"
        assert allotment["unheld_reason"]
        return
    assert allotment["method"] == "cgroup"
    assert allotment["cpus"] == meta["server_cpus"] == default_cpus()
    assert allotment["period_us"] == DEFAULT_PERIOD_US
    assert allotment["quota_us"] == round(default_cpus() * DEFAULT_PERIOD_US)
    assert allotment["cgroup_version"] in (1, 2)
    assert meta["limit"] in ("server-limited", "lower bound")
    assert meta["standin"] is False
    assert "highest weight" in meta["loadgen_pinning"]
    rows = results.read_throttling(run_dir / results.THROTTLING_FILE)
    assert len(rows) >= 8  # one a second over two 5 s steps
    assert rows[-1].nr_periods > rows[0].nr_periods
    assert rows[-1].usage_usec is not None
    cpu = results.read_cpu(run_dir / "cpu.csv")
    used = [sample.server_percent for sample in cpu[2:] if sample.server_percent is not None]
    assert max(used) <= default_cpus() * 100 * 1.1  # the quota held the app


def test_report_pages_and_pngs(run_dir: Path, tmp_path: Path) -> None:
    second = tmp_path / "second-run"
    shutil.copytree(run_dir, second)
    out = tmp_path / "cmp"
    assert report.main([str(run_dir), str(second), "--out", str(out)]) == 0
    pdf = PdfReader(out / "report.pdf")
    # answer, curves, CPU, planning, and for each run who answered (Locust's share CSV)
    assert len(pdf.pages) == 6
    assert (run_dir / "celsiusify_share.csv").exists()
    first_page = " ".join(pdf.pages[0].extract_text().split())
    assert "Celsiusify benchmark report" in first_page
    # Both copies were held to the same allotment: compared per allotted CPU.
    assert "× the requests per allotted CPU of FastAPI (" in first_page
    assert "Throughput–latency curves" in pdf.pages[1].extract_text()
    for name in ("curves.png", "cpu.png", "replicas.png", "replicas-2.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 4
    markdown = (out / "summary.md").read_text()
    assert markdown.count("| celsiusify |") == 4


def test_report_with_replicas_adds_a_page(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "with-hpa"
    shutil.copytree(run_dir, copy)
    (copy / "replicas.csv").write_text(
        "timestamp,current_replicas,desired_replicas,cpu_utilization_percent\n"
        "100,1,1,20\n105,1,3,90\n110,3,3,45\n"
    )
    assert report.main([str(copy)]) == 0
    assert len(PdfReader(copy / "report.pdf").pages) == 6  # + the autoscaler's page
    assert (copy / "autoscaler.png").exists()


@pytest.mark.parametrize("damage", ["missing", "columns", "numbers", "meta"])
def test_bad_input_is_one_clear_line(
    run_dir: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "damaged"
    shutil.copytree(run_dir, copy)
    if damage == "missing":
        (copy / "celsiusify_stats_history.csv").unlink()
    elif damage == "columns":
        (copy / "summary.csv").write_text("target,users\ncelsiusify,1\n")
    elif damage == "numbers":
        text = (copy / "summary.csv").read_text().splitlines()
        first = text[1].split(",")
        first[7] = "fast"
        (copy / "summary.csv").write_text("\n".join([text[0], ",".join(first), *text[2:]]))
    else:
        (copy / "meta.json").write_text("{not json")
    assert report.main([str(copy)]) == 2
    output = capsys.readouterr().out.strip().splitlines()
    assert len(output) == 1
    assert output[0].startswith("report: ")
    assert "Traceback" not in output[0]


def test_import_makes_locust_csvs_reportable(run_dir: Path, tmp_path: Path) -> None:
    """In-cluster runs arrive as Locust's CSVs only; import + report must work on them."""
    fetched = tmp_path / "in-cluster"
    fetched.mkdir()
    for name in ("stats.csv", "stats_history.csv", "failures.csv"):
        shutil.copy(run_dir / f"celsiusify_{name}", fetched / f"celsiusify_{name}")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "import", str(fetched), "--target", "in-cluster",
         "--csv-prefix", "celsiusify", "--server-cpus", "2"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    meta = json.loads((fetched / "meta.json").read_text())
    original = json.loads((run_dir / "meta.json").read_text())
    assert meta["capacity"]["step"]["users"] == original["capacity"]["step"]["users"]
    assert "not recorded" in meta["headline"]
    assert meta["target"] == "in-cluster"
    assert (fetched / "in-cluster_stats_history.csv").exists()
    assert report.main([str(fetched)]) == 0
    assert (fetched / "report.pdf").exists()


def test_import_takes_the_pods_cpu_from_the_hpa_recording(run_dir: Path, tmp_path: Path) -> None:
    """With the HPA's recording, the pods' CPU is the server's CPU of an in-cluster run."""
    fetched = tmp_path / "in-cluster-hpa"
    fetched.mkdir()
    for name in ("stats.csv", "stats_history.csv", "failures.csv"):
        shutil.copy(run_dir / f"celsiusify_{name}", fetched / f"celsiusify_{name}")
    history = results.read_csv(fetched / "celsiusify_stats_history.csv", ["Timestamp"])
    first, last = float(history[0]["Timestamp"]), float(history[-1]["Timestamp"])
    recording = tmp_path / "replicas.csv"
    lines = ["timestamp,current_replicas,desired_replicas,cpu_utilization_percent,"
             "ready_replicas,cpu_average_millicores"]  # fmt: skip
    moment = first
    while moment <= last:
        lines.append(f"{moment},2,2,80,2,200")  # 2 pods x 200m = 40 % of one core
        moment += 1
    recording.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "import", str(fetched), "--target", "celsiusify",
         "--replicas", str(recording)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = results.read_csv(fetched / "summary.csv", results.SUMMARY_COLUMNS)
    assert all(float(row["server_cpu_percent"]) == pytest.approx(40) for row in rows)
    assert "per CPU-second used" in json.loads((fetched / "meta.json").read_text())["headline"]
    assert (fetched / "replicas.csv").read_text() == recording.read_text()
    assert report.main([str(fetched)]) == 0
    pdf = PdfReader(fetched / "report.pdf")
    assert len(pdf.pages) == 5  # the autoscaler page
    assert "pods (HPA recording)" in pdf.pages[2].extract_text()


def test_import_refuses_a_folder_without_history(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "import", str(tmp_path), "--target", "celsiusify"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout.strip().startswith("import: ")
    assert "file not found" in result.stdout


@pytest.mark.parametrize(
    ("url", "words"),
    [("http://127.0.0.1:1", "cannot connect"), ("ftp://127.0.0.1", "not an http(s) URL")],
)
def test_run_refuses_an_unreachable_target(
    url: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["--url", url, "--run-dir", str(tmp_path / "x")]) == 2
    assert words in capsys.readouterr().out
    assert not (tmp_path / "x").exists()
