"""`python -m bench stacks` (`make bench`): FastAPI against TF Serving in one CPU allotment.

Which serving stack holds more load per CPU? Each target is measured in turn by `bench run`'s
measurement (bench/measure/run.py) with the same step shape, SLO, load generator and cores,
the same CPU allotment (quota and period), and the user class of its manifest (targets/), into
results/<UTC>-compare/<target>/; comparison.json records what ran and what was skipped.
`python -m bench report results/<UTC>-compare` writes the comparison report into the folder,
`python -m bench compare results/<UTC>-compare` prints its verdict.

FastAPI: the app the bench starts (`python -m app`). TF Serving, the first that applies:
  --tfserving-url URL with --tfserving-pid PID or --tfserving-container NAME: a server you
      run, held to the allotment (its process moved into the cgroup, or `docker update`);
      a bare --tfserving-url is measured but not held (its per-CPU figure is then declared);
  the project's image (targets/tfserving.json's image_name, tagged :dev, `make tf-image`),
      started with Docker in the allotment (`docker run --cpu-period/--cpu-quota`, or
      `--cpus` at 100 ms), after building it when only its base image is present;
  otherwise one line says why it was skipped (no Docker engine, no image, no base) and the run
      goes on with FastAPI alone: `make bench` never fails because TF Serving is absent.
Bad input is one line and exit 2 with nothing written: a --tfserving-url that does not answer,
or answers but is not TF Serving with the model AVAILABLE; a --tfserving-pid not running; a
--server-cpus or --cpu-period out of range. A server answering with the stand-in's header
(tests/standins/tfserving.py) is recorded as a stand-in; the report refuses it a verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

import targets
from bench.measure import hold, measurement, tfserving
from bench.measure.procs import cpu_sets
from bench.results import write_comparison

FASTAPI, TFSERVING = targets.get("celsiusify"), targets.get("tfserving")
# The options forwarded to each target's `bench run`, as (dest, flag).
LOAD_OPTIONS = (
    ("slo_ms", "--slo-ms"), ("max_failure_ratio", "--max-failure-ratio"),
    ("start_users", "--start-users"), ("step_users", "--step-users"),
    ("step_seconds", "--step-seconds"), ("max_users", "--max-users"),
    ("cpu_period", "--cpu-period"),
)  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench stacks", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    measurement.add_load_options(parser)
    parser.add_argument("--tfserving-url", help="a TF Serving you run (model celsiusify)")
    held = parser.add_mutually_exclusive_group()
    held.add_argument("--tfserving-pid", type=int, help="its process, held to the allotment")
    held.add_argument("--tfserving-container", help="its container, held by docker update")
    parser.add_argument(
        "--tfserving-image",
        default=tfserving.IMAGE,
        help="image to start without --tfserving-url (default %(default)s)",
    )
    parser.add_argument("--no-tfserving", action="store_true", help="measure FastAPI alone")
    parser.add_argument("--out", type=Path, help="exact comparison folder (default: "
                        "results/<UTC>-compare)")  # fmt: skip
    return parser.parse_args(argv)


def run_argv(args: argparse.Namespace, cpus: float, target: targets.Target,
             *extra: str) -> list[str]:  # fmt: skip
    """The `bench run` arguments that measure one target as this comparison does."""
    forwarded = [item for dest, flag in LOAD_OPTIONS for item in (flag, str(getattr(args, dest)))]
    return ["--user", target.user_class, "--target", target.name, "--server-cpus", f"{cpus:g}",
            *forwarded, *extra]  # fmt: skip


def tfserving_extra(args: argparse.Namespace) -> list[str]:
    """The --url/--pid/--container of a TF Serving the user runs."""
    extra = ["--url", args.tfserving_url]
    if args.tfserving_pid is not None:
        extra += ["--pid", str(args.tfserving_pid)]
    if args.tfserving_container:
        extra += ["--container", args.tfserving_container]
    return extra


@dataclass(frozen=True)
class TfServing:
    """How TF Serving takes part: its `bench run` arguments, or why it is skipped."""

    extra: list[str] = field(default_factory=list)
    container_started: bool = False  # started by the bench, in the allotment already
    skipped: str = ""


@contextlib.contextmanager
def tfserving_for_run(args: argparse.Namespace, cpus: float, period: int) -> Iterator[TfServing]:
    """TF Serving for the run: the user's, the project's image started by Docker, or none."""
    if args.no_tfserving:
        yield TfServing(skipped="--no-tfserving")
        return
    if args.tfserving_url:
        yield TfServing(tfserving_extra(args))
        return
    runnable, why = tfserving.docker_plan(args.tfserving_image)
    if runnable and why:
        print(f"bench: {why}", flush=True)
        why = tfserving.build_image(args.tfserving_image) or ""
    if not runnable or why:
        yield TfServing(skipped=why)
        return
    cores = (cpu_sets() or (None, None))[0]
    with contextlib.ExitStack() as stack:
        try:
            url, name = stack.enter_context(
                tfserving.container(args.tfserving_image, cpus, period, cores)
            )
        except RuntimeError as error:
            yield TfServing(skipped=str(error))
            return
        yield TfServing(["--url", url, "--container", name], container_started=True)


def check_tfserving(args: argparse.Namespace) -> None:
    """ValueError in one line when the TF Serving the user named is not usable."""
    if (args.tfserving_pid or args.tfserving_container) and not args.tfserving_url:
        raise ValueError("--tfserving-pid and --tfserving-container need --tfserving-url")
    if not args.tfserving_url:
        return
    if problem := measurement.unreachable(args.tfserving_url):
        raise ValueError(f"--tfserving-url {args.tfserving_url} does not answer: {problem}")
    try:
        tfserving.probe(args.tfserving_url, TFSERVING.model)
    except tfserving.NotTfServing as error:
        raise ValueError(f"--tfserving-url: {error}") from None
    if args.tfserving_pid is not None and not psutil.pid_exists(args.tfserving_pid):
        raise ValueError(f"--tfserving-pid {args.tfserving_pid} is not running")
    if args.tfserving_container:
        hold.container_state(args.tfserving_container, "--tfserving-container")


def measure_target(folder: Path, argv: list[str], container_started: bool = False) -> int:
    """One target's `bench run` into folder/<target>; 2 when it recorded nothing."""
    args = measurement.run_parser().parse_args(argv)
    args.container_started = container_started
    try:
        allotment = measurement.allotment_of(args)
        standin = measurement.check_target(args)
    except ValueError as error:
        print(f"bench: {args.target}: {error}")
        return 2
    return measurement.measure(
        args, argv, target=args.target, run_dir=folder / args.target, allotment=allotment,
        standin=standin,
    )  # fmt: skip


def _record(comparison: dict[str, Any], folder: Path, target: str, code: int) -> None:
    # A target whose run recorded no load step cannot be reported: not one of the runs.
    if code == 0:
        comparison["runs"].append(target)
    else:
        comparison["skipped"][target] = "its run recorded no load step (see the output above)"
    write_comparison(folder, comparison)


def main(argv: Sequence[str] | None = None) -> int:
    """Both targets, then comparison.json; 2 with one line on bad input (nothing written)."""
    args = parse_args(argv)
    try:
        period = hold.parse_period(args.cpu_period)
        cpus = hold.allotment_size(args.server_cpus, period)
        check_tfserving(args)
    except ValueError as error:
        print(f"bench: {error}")
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = args.out or args.results / f"{stamp}-compare"
    folder.mkdir(parents=True, exist_ok=True)
    comparison: dict[str, Any] = {
        "command": ["python", "-m", "bench", "stacks", *(sys.argv[1:] if argv is None else argv)],
        "started_utc": datetime.now(UTC).isoformat(),
        "allotment": {"cpus": cpus, "period_us": period},
        "runs": [],
        "skipped": {},
    }
    codes = []
    try:
        with measurement.signals_unwind():
            codes.append(measure_target(folder, run_argv(args, cpus, FASTAPI)))
            _record(comparison, folder, FASTAPI.name, codes[-1])
            with tfserving_for_run(args, cpus, period) as plan:
                if plan.skipped:
                    print(f"bench: TF Serving skipped: {plan.skipped}", flush=True)
                    comparison["skipped"][TFSERVING.name] = plan.skipped
                else:
                    argv_tf = run_argv(args, cpus, TFSERVING, *plan.extra)
                    codes.append(measure_target(folder, argv_tf, plan.container_started))
                    _record(comparison, folder, TFSERVING.name, codes[-1])
    except (KeyboardInterrupt, measurement.Stopped) as error:
        print(f"\nbench: stopped by {error or 'SIGINT'}: Locust and the servers stopped, "
              "no cgroup left")  # fmt: skip
        return 143 if isinstance(error, measurement.Stopped) else 130
    finally:
        comparison["finished_utc"] = datetime.now(UTC).isoformat()
        write_comparison(folder, comparison)
    print(f"bench: wrote {folder}; next: python -m bench report {folder}")
    return max(codes, default=2)
