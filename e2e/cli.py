"""The command line of `python -m e2e`: the options parsed and checked into one Options (bad
ones: one line, exit status 2), then the run with the real shell or, --dry-run, the recording
one."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import e2e
from e2e import loaders
from e2e.errors import UsageError
from e2e.options import Options
from e2e.plan import SHAPES, TARGETS
from e2e.run import run
from e2e.shell import RecordingShell, Shell
from targets import ROOT


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m e2e",
        description=e2e.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print every command in order; touch no cluster"
    )
    parser.add_argument(
        "--loader",
        help="how images reach the nodes: kind, minikube, registry=<prefix> (docker push) or "
        "local-cluster (this project's test cluster: make cluster-up); default: from the "
        "context's name (kind-*, minikube)",
    )
    parser.add_argument(
        "--kind-create",
        action="store_true",
        help="first create a kind cluster from e2e/values/kind-config.yaml "
        "(deleted afterwards unless --keep)",
    )
    parser.add_argument("--kind-name", default="celsiusify-e2e", help="the kind cluster's name")
    parser.add_argument("--minikube-profile", default="minikube")
    parser.add_argument(
        "--targets",
        default="celsiusify,tfserving",
        help="comma-separated, in order (default: %(default)s)",
    )
    parser.add_argument(
        "--standin",
        action="append",
        default=[],
        metavar="TARGET",
        help="run TARGET's stand-in image (its manifest's standin: tfserving's is "
        "tests/standins/tfserving.py) where the real image cannot be built; labelled a stand-in "
        "everywhere, and the comparison is refused",
    )
    parser.add_argument(
        "--max-replicas",
        action="append",
        default=[],
        metavar="TARGET=N",
        help="lower TARGET's HPA maxReplicas to N, for a cluster smaller than the 4-CPU budget "
        "of e2e/values/locust.yaml (the local cluster's 2 CPUs)",
    )
    parser.add_argument(
        "--shape",
        choices=sorted(SHAPES),
        default="standard",
        help="step load: standard (5 x 90 s) or short (3 x 40 s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="Locust worker pods of 400m (e2e/values/locust.yaml's budget: 2)",
    )
    parser.add_argument(
        "--min-capacity",
        action="append",
        default=[],
        metavar="TARGET=RPS",
        help="fail when the target's capacity is below RPS req/s",
    )
    parser.add_argument(
        "--slo-ms",
        type=float,
        default=50.0,
        help="the p99 SLO a step must meet to count toward capacity (bench import's; "
        "default %(default)g ms)",
    )
    parser.add_argument(
        "--unbuildable",
        choices=("fail", "server-dry-run"),
        default="fail",
        help="a target whose image cannot be built: fail the run, or stop that "
        "target at its image and send its objects with --dry-run=server",
    )
    parser.add_argument("--namespace", help="default: celsiusify-e2e-<UTC timestamp>")
    parser.add_argument("--tag", help="image tag (default: e2e-<UTC timestamp>)")
    parser.add_argument(
        "--locust-chart",
        default=os.environ.get("LOCUST_CHART", "deliveryhero/locust"),
        help="the deliveryhero/locust chart: repository name or .tgz path",
    )
    parser.add_argument("--out", type=Path, help="results folder (default: results/<UTC>-e2e)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the releases, namespace, images and cluster in place",
    )
    return parser.parse_args(argv)


def parse_floors(pairs: Sequence[str], targets: Sequence[str]) -> dict[str, float]:
    """--min-capacity TARGET=RPS pairs; UsageError on anything else."""
    floors = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            floors[name] = float(value)
        except ValueError:
            raise UsageError(f"--min-capacity wants TARGET=RPS, not {pair!r}") from None
        if name not in targets:
            raise UsageError(f"--min-capacity {pair!r}: {name!r} is not one of --targets")
    return floors


def parse_standins(names: Sequence[str], targets: Sequence[str]) -> tuple[str, ...]:
    """--standin TARGET: a target of the run whose manifest declares a stand-in image."""
    for name in names:
        if name not in targets:
            raise UsageError(f"--standin {name!r} is not one of --targets")
        if TARGETS[name].standin is None:
            declared = [t for t, target in TARGETS.items() if target.standin is not None]
            raise UsageError(
                f"--standin {name!r}: targets/{name}.json declares no stand-in image "
                f"(these do: {', '.join(declared) or 'none'})"
            )
    return tuple(dict.fromkeys(names))


def parse_max_replicas(pairs: Sequence[str], targets: Sequence[str]) -> dict[str, int]:
    """--max-replicas TARGET=N pairs (N at least 1); UsageError on anything else."""
    found = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not value.isdigit() or int(value) < 1:
            raise UsageError(f"--max-replicas wants TARGET=N with N >= 1, not {pair!r}")
        if name not in targets:
            raise UsageError(f"--max-replicas {pair!r}: {name!r} is not one of --targets")
        found[name] = int(value)
    return found


def options_from(args: argparse.Namespace, stamp: str) -> Options:
    """The checked options; ValueError or UsageError, one line, for the first bad one."""
    loader = (
        loaders.parse(args.loader, kind_name=args.kind_name, minikube_profile=args.minikube_profile)
        if args.loader
        else None
    )
    names = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = [name for name in names if name not in TARGETS]
    if unknown or not names:
        raise UsageError(f"--targets: choose from {', '.join(TARGETS)} (not {unknown or names})")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    out = args.out or ROOT / "results" / f"{stamp}-e2e"
    if out.exists() and not args.dry_run:
        raise UsageError(f"{out} exists: name another folder with --out")
    return Options(
        dry_run=args.dry_run,
        loader=loader,
        kind_create=args.kind_create,
        kind_name=args.kind_name,
        minikube_profile=args.minikube_profile,
        targets=tuple(names),
        standin=parse_standins(args.standin, names),
        max_replicas=parse_max_replicas(args.max_replicas, names),
        shape=args.shape,
        workers=args.workers,
        floors=parse_floors(args.min_capacity, names),
        slo_ms=args.slo_ms,
        unbuildable=args.unbuildable,
        namespace=args.namespace or f"celsiusify-e2e-{stamp.lower()}",
        tag=args.tag or f"e2e-{stamp.lower()}",
        locust_chart=args.locust_chart,
        out=out,
        keep=args.keep,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; see the package docstring for the exit statuses."""
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        options = options_from(args, stamp)
    except (ValueError, UsageError) as error:
        print(f"e2e: {error}")
        return 2
    return run(options, RecordingShell() if options.dry_run else Shell())
