"""The results folder format: the one module that knows its file names and columns.

`results/<run>/` holds Locust's own CSVs (`<target>_stats.csv`, `<target>_stats_history.csv`,
`<target>_failures.csv`, `<target>_exceptions.csv`), Locust's HTML report
(`<target>_locust.html`), `cpu.csv`, `summary.csv`, `meta.json`, `throttling.csv` when the
server was held to a CPU quota, `replicas.csv` when an HPA was recorded, `loadgen_pods.csv` when
the Locust worker pods' CPU was (in-cluster runs), `<target>_share.csv` (who answered: answers
per `app_identifier` every 5 s, locust/lib/share.py), and the report (`report.pdf`,
`report.html`, `*.png`, `summary.md`). A comparison, `results/<run>-compare/` (`make bench`),
holds one such folder per target, `comparison.json` (what ran, what was skipped and why) and the
report over them. Commands write
and read it through these functions and never import each other: meta.json is assembled by
build_meta() alone (for `bench run` and `bench import`), and last_history_row() reads the
latest figures while Locust still writes its history.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.analyse.capacity import (
    HISTORY_COLUMNS,
    BenchDataError,
    Capacity,
    CpuSample,
    Step,
    describe,
    read_csv,
)

SUMMARY_COLUMNS = [
    "target", "users", "start", "end", "requests", "failures", "failure_ratio", "rps",
    "p50_ms", "p95_ms", "p99_ms", "loadgen_cpu_percent", "server_cpu_percent",
    "within_slo", "is_capacity",
]  # fmt: skip
CPU_COLUMNS = ["timestamp", "loadgen_percent", "server_percent"]
# throttling.csv: the server's CFS counters (cgroup cpu.stat), one row a second, cumulative since
# sampling began (a second before the first row); timestamp is the wall clock of Locust's
# history, elapsed_s the seconds since sampling began.
THROTTLING_FILE = "throttling.csv"
THROTTLING_COLUMNS = [
    "timestamp", "elapsed_s", "usage_usec", "nr_periods", "nr_throttled", "throttled_usec",
]  # fmt: skip
COMPARISON_FILE = "comparison.json"
# replicas.csv (bench/measure/hpa.py writes it): the first three are required; the others were added
# later and are optional when reading, so older recordings still report.
REPLICAS_REQUIRED = ["timestamp", "current_replicas", "desired_replicas"]
REPLICAS_COLUMNS = [
    *REPLICAS_REQUIRED, "cpu_utilization_percent", "ready_replicas", "cpu_average_millicores",
]  # fmt: skip
# <target>_share.csv: Locust's count of right answers per app_identifier per interval
# (locust/lib/share.py writes it beside its own CSVs: time, identifier, answers).
SHARE_SUFFIX = "_share.csv"
SHARE_COLUMNS = ["time", "identifier", "answers"]
# loadgen_pods.csv (bench/measure/loadgen.py writes it): the Locust worker pods' CPU from the
# metrics API, one row per pod and metrics window (timestamp: the window's end, Unix seconds).
LOADGEN_PODS = "loadgen_pods.csv"
LOADGEN_PODS_COLUMNS = [
    "timestamp", "pod", "window_seconds", "cpu_millicores", "cpu_request_millicores",
    "cpu_limit_millicores",
]  # fmt: skip
# meta.json's loadgen_pinning for it: the load generator of an in-cluster run, and what its CPU
# is a percentage of (loadgen_samples), which the report's CPU page names.
LOADGEN_PODS_PINNING = (
    "Locust worker pods; CPU: the busiest worker, % of its limit (else request, one core at "
    "most), metrics API"
)
# A Locust worker is one Python process: it cannot use more than one core, whatever its limit.
WORKER_MAX_MILLICORES = 1000.0
REPORT_FILES = ("report.pdf", "report.html", "summary.md")
# meta.json's fields, in the order written: `bench run` writes the times it ran, step_load,
# locust_exit_code, hpa, the server's CPU allotment (quota, period, cgroup version), whether the
# target was a stand-in, and the limit ("server-limited" or "lower bound"); `bench import`
# writes imported_utc instead.
META_FIELDS = (
    "target", "url", "user_class", "command", "started_utc", "finished_utc", "imported_utc",
    "step_load", "server_pinning", "loadgen_pinning", "server_cpus", "loadgen_cpu_percent",
    "locust_exit_code", "allotment", "standin", "limit", "capacity", "headline", "hpa", "machine",
)  # fmt: skip


def history_path(run_dir: Path, target: str) -> Path:
    """Locust's stats history of a run."""
    return run_dir / f"{target}_stats_history.csv"


def locust_html_path(run_dir: Path, target: str) -> Path:
    """Locust's own HTML report of a run (`--html`)."""
    return run_dir / f"{target}_locust.html"


def share_path(run_dir: Path, target: str) -> Path:
    """Who answered, per interval (written by Locust in local and in-cluster runs alike)."""
    return run_dir / f"{target}{SHARE_SUFFIX}"


@dataclass(frozen=True)
class ShareRow:
    """Right answers from one app_identifier in the interval starting at `time` (Unix s)."""

    time: int
    identifier: str
    answers: int


def read_share(path: Path) -> list[ShareRow]:
    """A share CSV, checked: BenchDataError naming the file on a malformed row."""
    rows = read_csv(path, SHARE_COLUMNS)
    try:
        return [ShareRow(int(row["time"]), row["identifier"], int(row["answers"])) for row in rows]
    except ValueError as error:
        raise BenchDataError(f"{path}: malformed number ({error})") from None


def last_history_row(history: Path | str) -> dict[str, str] | None:
    """The most recent Aggregated row Locust has flushed to its stats history: from the file, or
    from text holding its header and latest lines (`head -n 1; tail -n 1` where Locust runs).
    None before the first one, or when the file cannot be read."""
    try:
        with history.open(newline="") if isinstance(history, Path) else io.StringIO(history) as f:
            rows = [row for row in csv.DictReader(f) if row.get("Name") == "Aggregated"]
    except OSError:
        return None
    return rows[-1] if rows else None


@dataclass(frozen=True)
class Throttling:
    """One row of throttling.csv (counters cumulative since sampling began)."""

    timestamp: float
    elapsed_s: float
    usage_usec: int | None
    nr_periods: int
    nr_throttled: int
    throttled_usec: int


@dataclass
class Run:  # pylint: disable=too-many-instance-attributes
    """One results folder, loaded and checked."""

    path: Path
    meta: dict[str, Any]
    steps: list[Step]
    capacity_users: int | None
    history: list[dict[str, str]]
    cpu: list[CpuSample]
    replicas: list[dict[str, str]] | None
    throttling: list[Throttling] = field(default_factory=list)
    # Who answered, per 5 s interval (`<target>_share.csv`), when the target names itself.
    share: list[ShareRow] | None = None

    @property
    def target(self) -> str:
        """The target's name (meta.json)."""
        return str(self.meta["target"])

    @property
    def standin(self) -> bool:
        """True when the target answered as a stand-in (tests/standins/), not the real server."""
        return bool(self.meta.get("standin"))

    @property
    def name(self) -> str:
        """The target's name, marked when it was a stand-in, for legends and tables."""
        return f"{self.target} (STAND-IN)" if self.standin else self.target

    @property
    def label(self) -> str:
        """Target name and folder, for legends (a comparison's run: with the comparison's)."""
        where = self.path.name
        if self.in_comparison:
            where = f"{self.path.parent.name}/{where}"
        return f"{self.name} ({where})"

    @property
    def in_comparison(self) -> bool:
        """True when the run is one target of a comparison folder (`make bench`)."""
        return (self.path.parent / COMPARISON_FILE).is_file()

    @property
    def slo_p99_ms(self) -> float:
        """The p99 SLO the capacity was found at."""
        return float(self.meta.get("capacity", {}).get("slo_p99_ms", math.nan))

    @property
    def max_failure_ratio(self) -> float:
        """The failure-ratio limit the capacity was found at."""
        return float(self.meta.get("capacity", {}).get("max_failure_ratio", math.nan))

    @property
    def capacity_step(self) -> Step | None:
        """The step summary.csv marks as the capacity (find_capacity's choice), if any."""
        return next((step for step in self.steps if step.users == self.capacity_users), None)


def _optional(value: str) -> float | None:
    return float(value) if value not in ("", "None", "nan") else None


def _step(row: dict[str, str]) -> Step:
    return Step(
        users=int(row["users"]),
        start=float(row["start"]),
        end=float(row["end"]),
        requests=int(row["requests"]),
        failures=int(row["failures"]),
        rps=float(row["rps"]),
        p50_ms=float(row["p50_ms"]),
        p95_ms=float(row["p95_ms"]),
        p99_ms=float(row["p99_ms"]),
        loadgen_cpu_percent=_optional(row["loadgen_cpu_percent"]),
        server_cpu_percent=_optional(row["server_cpu_percent"]),
    )


def read_cpu(path: Path) -> list[CpuSample]:
    """cpu.csv as samples; an absent file is no samples (imported runs may have none)."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in CPU_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise BenchDataError(f"{path}: missing column(s) {', '.join(missing)}")
        try:
            return [
                CpuSample(
                    float(row["timestamp"]),
                    _optional(row["loadgen_percent"]),
                    _optional(row["server_percent"]),
                )
                for row in reader
            ]
        except ValueError as error:
            raise BenchDataError(f"{path}: malformed number ({error})") from None


def read_replicas(path: Path) -> list[dict[str, str]]:
    """replicas.csv rows (bench/measure/hpa.py's recording), checked for the required columns."""
    rows = read_csv(path, REPLICAS_REQUIRED)
    try:
        for row in rows:
            float(row["timestamp"])
    except ValueError as error:
        raise BenchDataError(f"{path}: malformed number ({error})") from None
    return rows


def load_run(path: Path) -> Run:
    """Read a results folder or raise BenchDataError with one clear line."""
    if not path.is_dir():
        raise BenchDataError(f"{path}: not a results folder")
    meta_path = path / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchDataError(f"{meta_path}: file not found") from None
    except ValueError as error:
        raise BenchDataError(f"{meta_path}: not valid JSON ({error})") from None
    if not isinstance(meta, dict) or "target" not in meta:
        raise BenchDataError(f"{meta_path}: no 'target' field")
    rows = read_csv(path / "summary.csv", SUMMARY_COLUMNS)
    try:
        steps = [_step(row) for row in rows]
    except ValueError as error:
        raise BenchDataError(f"{path / 'summary.csv'}: malformed number ({error})") from None
    capacity_users = next((int(r["users"]) for r in rows if r["is_capacity"] == "True"), None)
    history = read_csv(history_path(path, meta["target"]), HISTORY_COLUMNS)
    replicas_path = path / "replicas.csv"
    replicas = read_replicas(replicas_path) if replicas_path.exists() else None
    cpu = read_cpu(path / "cpu.csv")
    throttling = read_throttling(path / THROTTLING_FILE)
    shares = share_path(path, meta["target"])
    share = read_share(shares) if shares.exists() else None
    return Run(path, meta, steps, capacity_users, history, cpu, replicas, throttling, share)


def read_throttling(path: Path) -> list[Throttling]:
    """throttling.csv's rows; an absent file is none (runs without an allotment have none)."""
    if not path.exists():
        return []
    rows = read_csv(path, THROTTLING_COLUMNS) if path.stat().st_size else []
    try:
        return [
            Throttling(float(row["timestamp"]), float(row["elapsed_s"]),
                       None if row["usage_usec"] in ("", "None") else int(row["usage_usec"]),
                       int(row["nr_periods"]), int(row["nr_throttled"]),
                       int(row["throttled_usec"]))
            for row in rows
        ]  # fmt: skip
    except ValueError as error:
        raise BenchDataError(f"{path}: malformed number ({error})") from None


def write_throttling(run_dir: Path, rows: Sequence[Throttling]) -> None:
    """throttling.csv, in time order."""
    with (run_dir / THROTTLING_FILE).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=THROTTLING_COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)


# --- a comparison folder: one run per target ---------------------------------------------------


def write_comparison(folder: Path, comparison: dict[str, Any]) -> None:
    """comparison.json: {"runs": [subfolder, …], "skipped": {target: why}, …}."""
    (folder / COMPARISON_FILE).write_text(json.dumps(comparison, indent=2) + "\n", "utf-8")


def read_comparison(folder: Path) -> dict[str, Any] | None:
    """A comparison folder's comparison.json, or None when the folder is not one."""
    path = folder / COMPARISON_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise BenchDataError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise BenchDataError(f"{path}: no 'runs' list")
    return data


def run_folders(path: Path) -> list[Path]:
    """The results folders a path names: a comparison's runs, in order, or the path itself."""
    comparison = read_comparison(path) if path.is_dir() else None
    if comparison is None:
        return [path]
    return [path / str(name) for name in comparison["runs"]]


def pod_cpu_samples(replicas: Sequence[dict[str, str]]) -> list[CpuSample]:
    """The pods' total CPU (percent of one core) at each HPA sample that recorded it.

    Total = average millicores per pod x current replicas (the HPA's own averageValue);
    samples without averageValue are skipped (older recordings lack the column).
    """
    samples = []
    for row in replicas:
        millicores = _optional(row.get("cpu_average_millicores") or "")
        pods = _optional(row.get("current_replicas") or "")
        if millicores is not None and pods is not None:
            samples.append(CpuSample(float(row["timestamp"]), None, millicores * pods / 10))
    return samples


def read_loadgen_pods(path: Path) -> list[dict[str, str]]:
    """loadgen_pods.csv rows (bench/measure/loadgen.py's recording), checked."""
    rows = read_csv(path, LOADGEN_PODS_COLUMNS)
    try:
        for row in rows:
            float(row["timestamp"])
            _optional(row["cpu_millicores"])
    except ValueError as error:
        raise BenchDataError(f"{path}: malformed number ({error})") from None
    return rows


def worker_ceiling(request: float | None, limit: float | None) -> float:
    """Millicores a Locust worker pod can use at most: its CPU limit, else its request (beyond
    it the pod only gets what the node has spare), never more than one core (one process)."""
    ceiling = limit or request or WORKER_MAX_MILLICORES
    return min(ceiling, WORKER_MAX_MILLICORES)


def loadgen_samples(rows: Sequence[dict[str, str]]) -> list[CpuSample]:
    """The load generator's CPU from the worker pods' recording: each worker's CPU in percent of
    its ceiling (worker_ceiling: used / requested when, as in make e2e, request = limit), the
    busiest worker of each metrics window, at the window's middle (its figure is the window's
    average). Above capacity.GENERATOR_SATURATED_PERCENT a worker is saturated."""
    busiest: dict[float, float] = {}
    for row in rows:
        used = _optional(row.get("cpu_millicores") or "")
        if used is None:
            continue
        ceiling = worker_ceiling(
            _optional(row.get("cpu_request_millicores") or ""),
            _optional(row.get("cpu_limit_millicores") or ""),
        )
        middle = float(row["timestamp"]) - (_optional(row.get("window_seconds") or "") or 0) / 2
        busiest[middle] = max(busiest.get(middle, 0.0), used / ceiling * 100)
    return [CpuSample(moment, percent) for moment, percent in sorted(busiest.items())]


def write_cpu(run_dir: Path, samples: Sequence[CpuSample]) -> None:
    """cpu.csv, in time order."""
    with (run_dir / "cpu.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CPU_COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(sample) for sample in sorted(samples, key=lambda s: s.timestamp))


def write_summary(run_dir: Path, target: str, steps: Sequence[Step], capacity: Capacity) -> None:
    """summary.csv: one row per step, with the SLO verdict and the capacity mark."""
    with (run_dir / "summary.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        for step in steps:
            within = step.p99_ms <= capacity.slo_p99_ms and (
                step.failure_ratio <= capacity.max_failure_ratio
            )
            writer.writerow({
                **{key: value for key, value in asdict(step).items() if key in SUMMARY_COLUMNS},
                "target": target,
                "failure_ratio": step.failure_ratio,
                "within_slo": within,
                "is_capacity": step is capacity.step,
            })  # fmt: skip


def write_meta(run_dir: Path, meta: dict[str, Any]) -> None:
    """meta.json."""
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def build_meta(
    command: str, argv: Sequence[str] | None, capacity: Capacity, *, target: str, url: str,
    user_class: str, pinning: tuple[str, str], server_cpus: float | None,
    loadgen_percent: Sequence[float], headline_note: str = "", **recorded: Any,
) -> dict[str, Any]:  # fmt: skip
    """meta.json's content: how a run was made (`bench run`) or imported (`bench import`).

    argv: the command's arguments (None: this process's own); pinning: (the server's, the load
    generator's; in-cluster, what its CPU is a percentage of); loadgen_percent: the load
    generator's CPU samples; the headline is
    capacity.describe()'s, then headline_note. recorded: what the command records as it is (the
    machine, its times, step_load, locust_exit_code, hpa), each one of META_FIELDS.
    """
    unknown = sorted(set(recorded) - set(META_FIELDS))
    if unknown:
        raise ValueError(f"not meta.json fields: {', '.join(unknown)}")
    meta = {
        "target": target,
        "url": url,
        "user_class": user_class,
        "command": [
            "python",
            "-m",
            "bench",
            command,
            *(argv if argv is not None else sys.argv[1:]),
        ],
        "server_pinning": pinning[0],
        "loadgen_pinning": pinning[1],
        "server_cpus": server_cpus,
        "loadgen_cpu_percent": {
            "mean": sum(loadgen_percent) / len(loadgen_percent) if loadgen_percent else None,
            "max": max(loadgen_percent, default=None),
        },
        "capacity": capacity.as_dict(),
        "headline": describe(capacity, server_cpus) + headline_note,
        **recorded,
    }
    return {key: meta[key] for key in META_FIELDS if key in meta}
