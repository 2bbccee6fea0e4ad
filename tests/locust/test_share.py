"""Who answered: the per-identifier counter's bound and intervals, and the CSV a real Locust run
(local, and a master with a worker) writes beside its own."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from lib.checks import check_batch, check_single
from lib.share import (
    COLUMNS,
    MAX_IDENTIFIER_LENGTH,
    MAX_IDENTIFIERS,
    OTHER,
    SUFFIX,
    ShareCounter,
)

from tests.helpers.server import FIXED_ID, ROOT, ServerProcess, free_port


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_65th_identifier_and_an_overlong_one_count_as_other() -> None:
    counter = ShareCounter(clock=Clock())
    for number in range(MAX_IDENTIFIERS + 1):
        counter.count(f"pod-{number}")
    counter.count("x" * (MAX_IDENTIFIER_LENGTH + 1))
    counter.count("pod-0")  # known ones stay named after the bound is reached
    names = {identifier: answers for _, identifier, answers in counter.rows()}
    assert len(names) == MAX_IDENTIFIERS + 1
    assert names[OTHER] == 2
    assert names["pod-0"] == 2
    assert f"pod-{MAX_IDENTIFIERS}" not in names


def test_answers_are_counted_per_five_second_interval() -> None:
    clock = Clock(1000.0)
    counter = ShareCounter(clock=clock)
    counter.count("a")
    clock.now = 1004.9
    counter.count("a")
    counter.count("b")
    clock.now = 1005.0
    counter.count("a")
    assert counter.rows() == [(1000, "a", 2), (1000, "b", 1), (1005, "a", 1)]


def test_a_master_merges_drained_worker_counts_under_the_same_bound() -> None:
    worker = ShareCounter(clock=Clock())
    worker.count("a", 3)
    master = ShareCounter(max_identifiers=1, clock=Clock())
    master.count("m")
    master.merge(worker.drain())
    master.merge([[1000, "m", 2], "junk", [1000, "m"], [1000, "m", -4], ["t", "m", 1], None])
    assert worker.rows() == []
    assert master.rows() == [(1000, "m", 3), (1000, OTHER, 3)]


def test_the_csv_is_tidy(tmp_path: Path) -> None:
    counter = ShareCounter(clock=Clock())
    counter.count("a")
    path = tmp_path / f"celsiusify{SUFFIX}"
    counter.write(path)
    with path.open(newline="") as handle:
        assert list(csv.reader(handle)) == [list(COLUMNS), ["1000", "a", "1"]]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_only_right_answers_name_who_answered() -> None:
    seen: list[str] = []
    good = '{"celsius": "100.000000", "app_identifier": "pod-a"}'
    wrong = '{"celsius": "99.000000", "app_identifier": "pod-b"}'
    assert check_single(200, good, 212.0, seen.append) is None
    assert check_single(200, wrong, 212.0, seen.append) is not None
    batch = '{"celsius": ["100.000000"], "app_identifier": "pod-c"}'
    assert check_batch(200, batch, [212.0], seen.append) is None
    assert seen == ["pod-a", "pod-c"]


def locust(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locust" / "main.py"), *args],
        cwd=cwd, env={**os.environ, "LOAD_TARGET": "celsiusify"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def answers_by_identifier(path: Path) -> dict[str, int]:
    totals: dict[str, int] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            totals[row["identifier"]] = totals.get(row["identifier"], 0) + int(row["answers"])
    return totals


HEADLESS = ("--headless", "-u", "2", "-r", "2", "-t", "6s", "--only-summary", "CelsiusifyGetUser")


@pytest.mark.locust
def test_a_local_run_writes_who_answered_beside_its_csvs(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = start_server(env={"CELSIUSIFY_APP_IDENTIFIER": FIXED_ID})
    run = locust(*HEADLESS, "--host", server.base, "--csv", "run", cwd=tmp_path)
    output, _ = run.communicate(timeout=60)
    assert run.returncode == 0, output[-2000:]
    totals = answers_by_identifier(tmp_path / f"run{SUFFIX}")
    assert list(totals) == [FIXED_ID]
    assert totals[FIXED_ID] > 50


@pytest.mark.locust
def test_a_workers_counts_reach_the_master_csv(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = start_server(env={"CELSIUSIFY_APP_IDENTIFIER": FIXED_ID})
    port = str(free_port())
    master = locust(*HEADLESS, "--host", server.base, "--csv", "run", "--master",
                    "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
                    "--expect-workers", "1", cwd=tmp_path)  # fmt: skip
    worker = locust("--worker", "--master-host", "127.0.0.1", "--master-port", port,
                    "CelsiusifyGetUser", cwd=tmp_path)  # fmt: skip
    try:
        output, _ = master.communicate(timeout=90)
        worker.wait(timeout=30)
    finally:
        for process in (master, worker):
            if process.poll() is None:
                process.kill()
    assert master.returncode == 0, output[-2000:]
    totals = answers_by_identifier(tmp_path / f"run{SUFFIX}")
    assert list(totals) == [FIXED_ID]
    assert totals[FIXED_ID] > 50
