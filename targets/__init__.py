"""The servers under test, one manifest each: targets/<name>.json.

A target is everything the Makefile, the local benchmark (bench), the in-cluster run (e2e) and
Locust need to know to deploy and load one serving stack: its Helm release, the values files
over celsiusify-chart/, its image's Dockerfile, the Locust user classes that load it (and the one
a measurement uses), the port and readiness path of its container, the model it serves, and a
stand-in image for machines that cannot build the real one (tests only: its figures measure the
stand-in). Adding a target is adding one JSON file here (and its user class in
locust/lib/users.py).

JSON, read with the standard library only, because Locust reads the same files in-cluster: the
lib ConfigMap carries them beside locust/lib/ (Makefile, loadtest-configmaps-yaml), where
nothing but the standard library and Locust is installed.

`python -m targets` prints a field for the Makefile (see __main__.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

# The project's root: every path in a manifest is relative to it.
ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = Path(__file__).resolve().parent


class TargetError(ValueError):
    """A manifest that is missing, unreadable or incomplete; the message says which."""


@dataclass(frozen=True)
class StandIn:
    """An image that answers as the target does where the real one cannot be built (no registry
    carries its base), so every step around the image can still run: not the real server."""

    dockerfile: str
    context: str
    # What answers instead of the real server, for every output that labels the run.
    description: str


@dataclass(frozen=True)
class Target:  # pylint: disable=too-many-instance-attributes
    """One serving stack, as its manifest declares it."""

    name: str
    description: str
    release: str
    dockerfile: str
    context: str
    # Values files over celsiusify-chart/ for `helm upgrade -i` (docs/deploy.md) and for the
    # in-cluster comparison (e2e_values: the deploy values plus e2e/values/<name>.yaml).
    values: tuple[str, ...]
    e2e_values: tuple[str, ...]
    # Every Locust class that loads this target; user_class is the one a measurement runs.
    user_classes: tuple[str, ...]
    user_class: str
    container_port: int
    readiness_path: str
    model: str | None
    # The chart's `helm test` pod runs the API image (TF Serving's image has no HTTP client).
    test_image_is_api: bool
    # The in-cluster run fails unless this target's HPA went above its minimum under load.
    hpa_gate: bool
    # Its stand-in image (null in the manifest: none).
    standin: StandIn | None
    # True once with_standin() swapped the image: not read from the manifest.
    runs_standin: bool = field(default=False, metadata={"manifest": False})

    @property
    def image_name(self) -> str:
        """The image's name without registry or tag: the release's name, and -standin when the
        stand-in image runs (so no output can take it for the real one)."""
        return f"{self.release}-standin" if self.runs_standin else self.release

    def with_standin(self) -> Target:
        """This target running its stand-in image; TargetError when it declares none."""
        if self.standin is None:
            raise TargetError(f"{self.name}: its manifest declares no stand-in image")
        return replace(
            self, dockerfile=self.standin.dockerfile, context=self.standin.context,
            runs_standin=True,
        )  # fmt: skip

    @property
    def locust_release(self) -> str:
        """The Locust release that loads this target in-cluster (one at a time)."""
        return f"locust-{self.name}"

    @property
    def service(self) -> str:
        """The Service celsiusify-chart names for the release (its fullname helper)."""
        return self.release if "celsiusify" in self.release else f"{self.release}-celsiusify"


def parse(text: str, source: str) -> Target:
    """A Target from a manifest's JSON text; TargetError naming source on any problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TargetError(f"{source}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise TargetError(f"{source}: a manifest is a JSON object")
    names = [each.name for each in fields(Target) if each.metadata.get("manifest", True)]
    missing = [name for name in names if name not in data]
    unknown = sorted(set(data) - set(names))
    if missing or unknown:
        raise TargetError(f"{source}: missing {missing}, unknown {unknown}")
    values: dict[str, Any] = {
        name: tuple(data[name]) if isinstance(data[name], list) else data[name] for name in names
    }
    if values["standin"] is not None:
        try:
            values["standin"] = StandIn(**values["standin"])
        except TypeError as error:
            raise TargetError(f"{source}: standin: {error}") from None
    target = Target(**values)
    if target.user_class not in target.user_classes:
        raise TargetError(f"{source}: user_class {target.user_class} not in user_classes")
    return target


@cache
def all_targets() -> dict[str, Target]:
    """Every manifest in targets/, by name, in name order."""
    found = {}
    for path in sorted(MANIFESTS.glob("*.json")):
        target = parse(path.read_text(), path.name)
        if target.name != path.stem:
            raise TargetError(f"{path.name}: name {target.name!r} is not the file's name")
        found[target.name] = target
    return found


def get(name: str) -> Target:
    """One target by name; TargetError listing the known ones."""
    targets = all_targets()
    if name not in targets:
        raise TargetError(f"unknown target {name!r}: choose from {', '.join(targets)}")
    return targets[name]


def target_of_user(user_class: str) -> str:
    """The target a Locust user class loads."""
    for target in all_targets().values():
        if user_class in target.user_classes:
            return target.name
    raise TargetError(f"no target has the user class {user_class!r}")


def user_classes() -> list[str]:
    """Every user class of every target."""
    return [name for target in all_targets().values() for name in target.user_classes]
