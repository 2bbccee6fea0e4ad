"""The "Load across replicas" page: who answered (`<target>_share.csv`), summarised and drawn,
and absent (not broken) when a run has no such CSV."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pypdf import PdfReader

from bench.analyse.capacity import BenchDataError
from bench.analyse.spread import summarise
from bench.report import report
from bench.results import load_run, read_share, share_path

T0 = 1_000


def share_rows() -> list[tuple[int, str, int]]:
    """One pod for 60 s; a second Ready at +60 s that takes its half from +70 s; a third Ready at
    +120 s that keep-alive pinning leaves idle until +150 s, then a third each."""
    rows = []
    for start in range(0, 180, 5):
        if start < 70:
            split = {"pod-a": 300}
        elif start < 150:
            split = {"pod-a": 150, "pod-b": 150}
        else:
            split = {"pod-a": 100, "pod-b": 100, "pod-c": 100}
        if 120 <= start < 150:
            split["pod-c"] = 1  # Ready, but only a stray new connection reaches it
        rows += [(T0 + start, name, answers) for name, answers in split.items()]
    return rows


READY = [(T0 + second, 1 + (second >= 60) + (second >= 120)) for second in range(0, 180, 5)]
STEPS = [(10, T0, T0 + 60), (20, T0 + 60, T0 + 120), (30, T0 + 120, T0 + 180)]


def test_new_pods_time_to_fair_share_counts_from_ready() -> None:
    summary = summarise(share_rows(), STEPS, READY)
    assert summary.identifiers == ["pod-a", "pod-b", "pod-c"]
    by_name = {pod.identifier: pod for pod in summary.new_pods}
    assert by_name["pod-b"].ready == T0 + 60
    assert by_name["pod-b"].fair_after_s == 10  # half of the answers from +70 s
    assert by_name["pod-c"].ready == T0 + 120
    assert by_name["pod-c"].first_answer == T0 + 120
    assert by_name["pod-c"].fair_after_s == 30  # a third only from +150 s


def test_the_spread_per_step() -> None:
    steps = {step.users: step for step in summarise(share_rows(), STEPS, READY).steps}
    assert (steps[10].pods, steps[10].max_over_min, steps[10].cv) == (1, 1.0, 0.0)
    assert steps[20].pods == 2
    assert math.isclose(steps[20].max_over_min, 2100 / 1500)  # pod-b joined at +70 s
    assert steps[30].pods == 3


def test_a_pod_that_never_gets_its_share_says_so() -> None:
    pinned = [row for row in share_rows() if not (row[1] == "pod-c" and row[0] >= T0 + 150)]
    by_name = {pod.identifier: pod for pod in summarise(pinned, STEPS, READY).new_pods}
    assert by_name["pod-c"].fair_after_s is None


def write_share(path: Path, rows: list[tuple[int, str, int]]) -> None:
    path.write_text("time,identifier,answers\n" + "".join(f"{t},{n},{a}\n" for t, n, a in rows))


def test_the_share_csv_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "celsiusify_share.csv"
    write_share(path, share_rows()[:2])
    assert [(row.time, row.identifier, row.answers) for row in read_share(path)] == [
        (T0, "pod-a", 300), (T0 + 5, "pod-a", 300)]  # fmt: skip
    path.write_text("time,identifier,answers\nsoon,pod-a,3\n")
    with pytest.raises(BenchDataError, match="malformed number"):
        read_share(path)
    path.write_text("time,who\n1,a\n")
    with pytest.raises(BenchDataError):
        read_share(path)


def test_report_adds_the_page_when_the_run_has_the_csv(local_run: Path) -> None:
    start = int(float(load_run(local_run).history[0]["Timestamp"]))
    shifted = [(t - T0 + start, name, answers) for t, name, answers in share_rows()]
    write_share(share_path(local_run, "celsiusify"), shifted)
    assert report.main([str(local_run)]) == 0
    text = [
        " ".join(page.extract_text().split()) for page in PdfReader(local_run / "report.pdf").pages
    ]
    page = next(page for page in text if "Load across replicas" in page)
    assert "3 pod(s) answered" in page
    assert "2 pod(s) added during the run; 2 reached their fair share" in page
    assert (local_run / "replicas.png").exists()
    assert "Load across replicas" in (local_run / "report.html").read_text()


def test_report_without_the_csv_has_no_such_page(local_run: Path) -> None:
    assert report.main([str(local_run)]) == 0
    text = " ".join(page.extract_text() for page in PdfReader(local_run / "report.pdf").pages)
    assert "Load across replicas" not in text
    assert not (local_run / "replicas.png").exists()
