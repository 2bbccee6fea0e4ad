"""`bench report` and `bench compare` on the committed reference runs' CSVs (no Locust run)."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import pytest
from pypdf import PdfReader

from bench.analyse import compare
from bench.analyse.capacity import HISTORY_COLUMNS, find_capacity, read_csv, steps_from_history
from bench.report import plots, report
from bench.results import load_run, read_cpu

# Worked by hand from the committed summary.csv files:
#   local run:  4,496.6 req/s on 1 allotted CPU, server at 44.26 % -> 4,497 per allotted CPU,
#               4,496.6 / 0.4426 = 10,159 per CPU-second used; a lower bound (generator at 100 %).
#   docker run: 2,987.6 req/s on 0.25 CPU -> 11,950 per allotted CPU; server CPU not measured.
#   Per allotted CPU is the figure both have: 11,950 / 4,497 = 2.66; the local figure is a lower
#   bound, so the true ratio can only be smaller ("at most").
VERDICT = (
    "celsiusify-docker-0.25cpu holds at most 2.66× the requests per allotted CPU of celsiusify "
    "at p99 ≤ 50 ms (11,950 vs 4,497). Caveat: celsiusify's figure is a lower bound: the load "
    "generator, not the server, was the limit."
)
PDF_TITLES = [
    "Celsiusify benchmark report",
    "Throughput–latency curves",
    "CPU over time: who was the limit",
    "Capacity planning (derived, not measured)",
]


def words(text: str) -> str:
    """Whitespace-normalised text (the PDF wraps lines where it likes)."""
    return " ".join(text.split())


@pytest.fixture
def comparison(local_run: Path, docker_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "compare"
    assert report.main([str(local_run), str(docker_run), "--out", str(out)]) == 0
    return out


def test_pdf_page_one_holds_the_verdict_and_the_headline_table(comparison: Path) -> None:
    pdf = PdfReader(comparison / "report.pdf")
    first = words(pdf.pages[0].extract_text())
    assert VERDICT in first
    for cell in ("capacity at the SLO", "req/s per allotted CPU", "req/s per CPU-second used",
                 "p50 / p99 at capacity", "lower bound",
                 "4,497 req/s at 24 users", "2,988 req/s at 64 users", "11,950", "10,159",
                 "2 / 5 ms", "7 / 50 ms", "yes: the load generator, not the server, was the limit",
                 "AMD EPYC, 2 cores", "Locust 2.47.0", "ee9a23bc3ab2", "a387408a564b",
                 "--server-cpus 0.25"):  # fmt: skip
        assert cell in first, cell
    assert "HEADLINE:" not in first  # no paragraph of monospace text any more


def test_pdf_pages_and_titles(comparison: Path) -> None:
    pdf = PdfReader(comparison / "report.pdf")
    assert len(pdf.pages) == len(PDF_TITLES)
    for page, title in zip(pdf.pages, PDF_TITLES, strict=True):
        assert title in page.extract_text()
    planning = words(pdf.pages[3].extract_text())
    # 10,159 req per CPU-second x 0.25 CPU request x 50 % target = 1,270 req/s per pod.
    assert "1,270 req/s" in planning
    assert "celsiusify-chart/values.yaml" in planning


def test_html_is_one_self_contained_file_with_the_same_figures(comparison: Path) -> None:
    html = (comparison / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:)""", html)
    assert "<script" not in html
    assert "<link" not in html
    assert "url(" not in html
    assert "@import" not in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    pngs = [comparison / "curves.png", comparison / "cpu.png"]
    assert [base64.b64decode(image) for image in images] == [p.read_bytes() for p in pngs]
    assert sorted(comparison.glob("*.png")) == sorted(pngs)
    assert VERDICT.replace("'", "&#x27;") in html
    headings = re.findall(r"<h2>([^<]+)</h2>", html)
    assert headings == ["The answer", *PDF_TITLES[1:]]
    assert "10,159" in html
    assert "11,950" in html


def test_summary_markdown_has_the_verdict_and_the_table(comparison: Path) -> None:
    markdown = (comparison / "summary.md").read_text(encoding="utf-8")
    assert f"**{VERDICT}**" in markdown
    assert "| target | capacity at the SLO | req/s per allotted CPU |" in markdown
    assert markdown.count("| celsiusify") == 4  # two headline rows, two "where and how" rows


def test_curves_are_drawn_in_order_of_offered_load(local_run: Path) -> None:
    summary = local_run / "summary.csv"
    lines = summary.read_text().splitlines()
    summary.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")  # time order lost
    run = load_run(local_run)
    assert [step.users for step in run.steps] == list(range(40, 0, -4))
    figure = plots.curves_figure([run])
    try:
        lines_by_label = {line.get_label(): line for line in figure.axes[0].get_lines()}
        ordered = sorted(run.steps, key=lambda step: step.users)
        for key in ("celsiusify p99", "celsiusify p50"):
            xdata = list(lines_by_label[key].get_xdata())
            assert xdata == [step.rps for step in ordered]
    finally:
        plt.close(figure)


def test_the_marked_capacity_point_is_find_capacitys(local_run: Path, docker_run: Path) -> None:
    for folder in (local_run, docker_run):
        run = load_run(folder)
        history = read_csv(folder / f"{run.target}_stats_history.csv", HISTORY_COLUMNS)
        steps = steps_from_history(history, read_cpu(folder / "cpu.csv"))
        chosen = find_capacity(steps, 50, 0.001).step
        assert chosen is not None
        figure = plots.curves_figure([run])
        try:
            marks = [line for line in figure.axes[0].get_lines()
                     if "capacity" in str(line.get_label())]  # fmt: skip
            assert len(marks) == 1
            assert list(marks[0].get_xdata()) == pytest.approx([chosen.rps, chosen.rps])
            assert list(marks[0].get_ydata()) == [chosen.p50_ms, chosen.p99_ms]
            assert f"at {chosen.users} users" in str(marks[0].get_label())
        finally:
            plt.close(figure)


def test_single_run_report(local_run: Path) -> None:
    assert report.main([str(local_run)]) == 0
    pdf = PdfReader(local_run / "report.pdf")
    assert len(pdf.pages) == 4
    first = words(pdf.pages[0].extract_text())
    assert (
        "celsiusify holds at least 4,497 req/s at p99 ≤ 50 ms (24 users, p99 5 ms): 4,497 per "
        "allotted CPU, 10,159 per CPU-second used — a lower bound: the load generator, not the "
        "server, was the limit."
    ) in first
    assert "× the requests" not in first  # no verdict for a single run


def test_page_one_renders_to_a_non_blank_png(comparison: Path, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (Debian: apt-get install -y poppler-utils)")
    prefix = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
         str(comparison / "report.pdf"), str(prefix)],
        check=True, timeout=60,
    )  # fmt: skip
    pixels = matplotlib.image.imread(prefix.with_suffix(".png"))
    grey = pixels[..., :3].mean(axis=2)
    inked = float((grey < 0.8).mean())
    assert 0.01 < inked < 0.5, f"page 1 is {inked:.1%} ink"


def test_compare_prints_the_verdict_and_the_table(
    local_run: Path, docker_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compare.main([str(local_run), str(docker_run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == VERDICT
    table = "\n".join(lines)
    assert re.search(r"^celsiusify\s+4,497 req/s at 24 users .*10,159", table, re.M)
    assert re.search(r"^celsiusify-docker-0.25cpu\s+2,988 req/s at 64 users .*11,950", table, re.M)
    assert compare.main([str(local_run), str(docker_run), "--markdown"]) == 0
    assert f"**{VERDICT}**" in capsys.readouterr().out


def _damage(kind: str, local_run: Path, docker_run: Path) -> list[str]:
    if kind == "no CSVs":
        for path in local_run.glob("*.csv"):
            path.unlink()
    elif kind == "empty run":
        header = (local_run / "summary.csv").read_text().splitlines()[0]
        (local_run / "summary.csv").write_text(header + "\n")
    elif kind == "different SLOs":
        meta = json.loads((docker_run / "meta.json").read_text())
        meta["capacity"]["slo_p99_ms"] = 100.0
        (docker_run / "meta.json").write_text(json.dumps(meta))
    return [str(local_run), str(docker_run)]


@pytest.mark.parametrize(
    ("kind", "message"),
    [("no CSVs", "summary.csv: file not found"), ("empty run", "summary.csv: no rows"),
     ("different SLOs", "different SLOs")],
)  # fmt: skip
@pytest.mark.parametrize("command", [report, compare])
def test_bad_inputs_are_one_clear_line(
    kind: str, message: str, command: object, local_run: Path, docker_run: Path,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    argv = _damage(kind, local_run, docker_run)
    main = command.main  # type: ignore[attr-defined]
    name = "report" if command is report else "compare"
    assert main([*argv, "--out", str(tmp_path / "out")] if name == "report" else argv) == 2
    output = capsys.readouterr().out.strip().splitlines()
    assert len(output) == 1, output
    assert output[0].startswith(f"{name}: ")
    assert message in output[0]
    assert not (tmp_path / "out").exists()


def test_summary_rows_are_what_the_headline_uses(local_run: Path) -> None:
    with (local_run / "summary.csv").open(newline="") as handle:
        marked = [row for row in csv.DictReader(handle) if row["is_capacity"] == "True"]
    run = load_run(local_run)
    assert run.capacity_step is not None
    assert [int(marked[0]["users"])] == [run.capacity_step.users]
