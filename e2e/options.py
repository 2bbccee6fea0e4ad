"""The run's options, parsed and checked once (e2e/cli.py), then read by every step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from e2e.loaders.base import Loader


@dataclass(frozen=True)
class Options:  # pylint: disable=too-many-instance-attributes
    """What the command line asked for (e2e/cli.py documents each option)."""

    dry_run: bool
    # None: no --loader; the kind loader until the context's name says otherwise.
    loader: Loader | None
    kind_create: bool
    kind_name: str
    minikube_profile: str
    targets: tuple[str, ...]
    # --standin: targets that run their stand-in image (targets/<name>.json), not the real one.
    standin: tuple[str, ...]
    # --max-replicas: the HPA's maxReplicas by target, lowered for a cluster smaller than the
    # budget of e2e/values/locust.yaml.
    max_replicas: Mapping[str, int]
    shape: str
    workers: int
    # --min-capacity: the capacity (req/s) a target must reach, by target name.
    floors: Mapping[str, float]
    slo_ms: float
    unbuildable: str
    namespace: str
    tag: str
    locust_chart: str
    out: Path
    keep: bool
