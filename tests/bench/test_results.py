"""bench.results as the one writer of meta.json and reader of Locust's running history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.analyse.capacity import Capacity
from bench.results import META_FIELDS, build_meta, last_history_row

HISTORY = (
    "Timestamp,User Count,Type,Name,Requests/s,99%\r\n"
    "1,4,,Aggregated,100.0,5\r\n"
    "2,4,GET,/convert,110.0,6\r\n"
    "2,4,,Aggregated,110.0,6\r\n"
)


def capacity() -> Capacity:
    return Capacity(50.0, 0.001, None, lower_bound=False)


def test_meta_fields_are_written_in_one_order_whatever_the_command() -> None:
    run = build_meta(
        "run", ["--max-users", "8"], capacity(), target="celsiusify", url="local (python -m app)",
        user_class="CelsiusifyGetUser", pinning=("taskset -c 0", "taskset -c 1"),
        server_cpus=1.0, loadgen_percent=[20.0, 40.0], machine={}, hpa=None,
        finished_utc="b", started_utc="a", locust_exit_code=0, step_load={},
        allotment={"method": "cgroup"}, standin=False, limit="server-limited",
    )  # fmt: skip
    imported = build_meta(
        "import", [], capacity(), target="in-cluster", url="in-cluster", user_class="?",
        pinning=("external", "external"), server_cpus=None, loadgen_percent=[],
        headline_note=" (imported)", machine={"note": "imported"}, imported_utc="c",
    )  # fmt: skip
    # imported_utc is bench import's alone.
    assert list(run) == [field for field in META_FIELDS if field != "imported_utc"]
    assert list(imported) == [
        "target", "url", "user_class", "command", "imported_utc", "server_pinning",
        "loadgen_pinning", "server_cpus", "loadgen_cpu_percent", "capacity", "headline",
        "machine",
    ]  # fmt: skip
    assert run["command"] == ["python", "-m", "bench", "run", "--max-users", "8"]
    assert run["loadgen_cpu_percent"] == {"mean": 30.0, "max": 40.0}
    assert imported["loadgen_cpu_percent"] == {"mean": None, "max": None}
    assert imported["headline"].endswith(" (imported)")
    json.dumps(run)  # meta.json is JSON


def test_a_field_meta_json_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not meta\.json fields: wall_clock"):
        build_meta(
            "run", [], capacity(), target="t", url="u", user_class="c", pinning=("", ""),
            server_cpus=None, loadgen_percent=[], wall_clock=1,
        )  # fmt: skip


def test_the_last_history_row_from_the_file_or_its_tail(tmp_path: Path) -> None:
    path = tmp_path / "celsiusify_stats_history.csv"
    path.write_text(HISTORY, newline="")
    assert last_history_row(path) == last_history_row(HISTORY.replace("\r\n", "\n"))
    row = last_history_row(path)
    assert row is not None
    assert (row["Timestamp"], row["Requests/s"]) == ("2", "110.0")
    header, *_, last = HISTORY.splitlines()
    assert last_history_row(f"{header}\n{last}\n") == row  # `head -n 1; tail -n 1`


def test_no_history_yet_is_no_row(tmp_path: Path) -> None:
    assert last_history_row(tmp_path / "absent.csv") is None
    assert last_history_row("Timestamp,User Count,Type,Name\n") is None
    assert last_history_row("") is None
