"""What make e2e makes of an in-cluster run, from fixture CSVs shaped as the cluster leaves them
(tests/e2e/fixtures/incluster: the short shape, 4 → 8 → 12 users, p99 over the 50 ms SLO only at
12; the Locust workers' CPU calm, under 90 % of their 400m limit, or busy, 97 % at 8 users):
`bench import` says server-limited or lower bound from the workers' CPU as a local run would,
keeps the share CSV under the target's name and labels a stand-in; the comparison between two
targets uses only server-limited figures, or names the side that is a lower bound, and refuses a
stand-in."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.analyse import headline
from bench.results import LOADGEN_PODS, LOADGEN_PODS_PINNING, load_run, read_cpu, share_path
from e2e import gate

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "incluster"
STANDIN = "tests/standins/tfserving.py: not TF Serving"


def imported(
    tmp_path: Path, target: str, workers: str | None, *extra: str
) -> tuple[Path, dict[str, object]]:
    """The fixture run copied as make e2e's kubectl cp leaves it, then `bench import` as e2e runs
    it (csv prefix celsiusify; the workers' recording beside the CSVs, found there)."""
    folder = tmp_path / target
    folder.mkdir()
    for name in ("celsiusify_stats_history.csv", "celsiusify_share.csv"):
        shutil.copy(FIXTURES / name, folder / name)
    if workers:
        shutil.copy(FIXTURES / f"loadgen_pods_{workers}.csv", folder / LOADGEN_PODS)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "import", str(folder), "--target", target,
         "--csv-prefix", "celsiusify", "--server-cpus", "1", "--slo-ms", "50", *extra],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return folder, json.loads((folder / "meta.json").read_text())


def test_calm_workers_make_the_figure_server_limited(tmp_path: Path) -> None:
    folder, meta = imported(tmp_path, "celsiusify", "calm")
    capacity = meta["capacity"]
    assert capacity["step"]["users"] == 8
    assert capacity["lower_bound"] is False
    assert "Server-limited: the busiest Locust worker stayed at or under 90 %" in meta["headline"]
    assert "not recorded" not in meta["headline"]
    assert meta["loadgen_pinning"] == LOADGEN_PODS_PINNING
    assert meta["loadgen_cpu_percent"]["max"] == pytest.approx(82.5)
    # The busiest worker's CPU per step, in summary.csv and cpu.csv.
    run = load_run(folder)
    assert [round(step.loadgen_cpu_percent or 0) for step in run.steps] == [45, 75, 82]
    assert any(sample.loadgen_percent for sample in read_cpu(folder / "cpu.csv"))


def test_a_busy_worker_within_the_slo_makes_the_figure_a_lower_bound(tmp_path: Path) -> None:
    _, meta = imported(tmp_path, "celsiusify", "busy")
    capacity = meta["capacity"]
    assert capacity["lower_bound"] is True
    assert capacity["reasons"] == [
        "load generator CPU reached 97% at 8 users while the server was still within the SLO: "
        "the generator, not the server, was the limit"
    ]
    assert "LOWER BOUND" in meta["headline"]


def test_without_the_workers_cpu_the_import_says_it_was_not_recorded(tmp_path: Path) -> None:
    _, meta = imported(tmp_path, "celsiusify", None)
    assert meta["capacity"]["lower_bound"] is False
    assert meta["headline"].endswith("(load generator CPU not recorded for imported runs)")
    assert meta["loadgen_cpu_percent"] == {"mean": None, "max": None}


def test_the_share_csv_is_kept_under_the_name_results_owns(tmp_path: Path) -> None:
    folder, _ = imported(tmp_path, "tfserving", "calm")
    kept = share_path(folder, "tfserving")
    assert kept.read_text() == (FIXTURES / "celsiusify_share.csv").read_text()
    run = load_run(folder)  # the report's page reads it from there
    assert run.share is not None
    assert {row.identifier for row in run.share} == {"pod-a", "pod-b"}


def test_a_stand_in_is_labelled_in_meta_and_headline(tmp_path: Path) -> None:
    _, meta = imported(tmp_path, "tfserving", "calm", "--standin", STANDIN)
    assert meta["standin"] is True
    assert meta["headline"].endswith(f"STAND-IN, not the real server: {STANDIN}")
    (tmp_path / "real").mkdir()
    _, real = imported(tmp_path / "real", "tfserving", "calm")
    assert "standin" not in real


def rows(tmp_path: Path, *runs: tuple[str, str | None, tuple[str, ...]]) -> list[headline.Headline]:
    """Headlines of imported fixture runs: (target, workers, extra import flags)."""
    folders = [imported(tmp_path, target, workers, *extra)[0] for target, workers, extra in runs]
    return headline.headlines([load_run(folder) for folder in folders])


def test_two_server_limited_figures_are_compared(tmp_path: Path) -> None:
    verdict = gate.comparison(rows(tmp_path, ("celsiusify", "calm", ()), ("tfserving", "calm", ())),
                              unmeasured=[])  # fmt: skip
    assert verdict.verdict == "SERVER-LIMITED"
    assert verdict.lower_bound == ()
    assert "1.00×" in verdict.sentence


def test_a_lower_bound_side_is_named(tmp_path: Path) -> None:
    verdict = gate.comparison(rows(tmp_path, ("celsiusify", "busy", ()), ("tfserving", "calm", ())),
                              unmeasured=[])  # fmt: skip
    assert verdict.verdict == "LOWER BOUND"
    assert verdict.lower_bound == ("celsiusify",)
    assert verdict.sentence.startswith("celsiusify's figure is a lower bound, not its server's")
    assert "Caveat: celsiusify's figure is a lower bound: the load generator" in verdict.sentence


def test_a_stand_in_side_refuses_the_comparison(tmp_path: Path) -> None:
    verdict = gate.comparison(
        rows(tmp_path, ("celsiusify", "calm", ()), ("tfserving", "calm", ("--standin", STANDIN))),
        unmeasured=[],
    )
    assert verdict.verdict == "REFUSED"
    assert verdict.standin == ("tfserving",)
    assert verdict.sentence.startswith("No verdict: TF Serving answered as a stand-in")


def test_unrecorded_workers_leave_the_limit_unchecked(tmp_path: Path) -> None:
    verdict = gate.comparison(
        rows(tmp_path, ("celsiusify", "calm", ()), ("tfserving", None, ())),
        unmeasured=[], generator_unknown=["tfserving"],
    )  # fmt: skip
    assert verdict.verdict == "UNCHECKED"
    assert "the Locust workers' CPU of tfserving was not recorded" in verdict.sentence


def test_an_unmeasured_target_is_not_compared() -> None:
    verdict = gate.comparison([], unmeasured=["tfserving"])
    assert verdict.verdict == "NOT COMPARED"
    assert verdict.sentence == "tfserving: not measured, nothing to compare with"


def test_the_figures_line_names_the_generator_and_the_limit(tmp_path: Path) -> None:
    folder, meta = imported(tmp_path, "tfserving", "calm", "--standin", STANDIN)
    (row,) = headline.headlines([load_run(folder)])
    line = gate.figures(row, meta)
    assert line.startswith("tfserving (stand-in): 700 req/s at 8 users (p50 5 ms, p99 30 ms)")
    assert "busiest Locust worker at " in line
    assert "82 % at most" in line
    assert line.endswith("; server-limited")


def test_an_slo_miss_with_a_saturated_worker_is_not_blamed_on_the_server(tmp_path: Path) -> None:
    _, meta = imported(tmp_path, "celsiusify", "busy", "--slo-ms", "1")
    folder = tmp_path / "celsiusify"
    (row,) = headline.headlines([load_run(folder)])
    assert row.rps is None
    assert gate.figures(row, meta).endswith(
        "; a worker was saturated, so the latencies that missed the SLO may be Locust's"
    )
