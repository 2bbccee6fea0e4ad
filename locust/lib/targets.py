"""The user classes of each target, read from the target manifests (targets/<name>.json).

In a checkout the manifests are in targets/ at the project's root; in-cluster the lib ConfigMap
carries them beside this module (Makefile, loadtest-configmaps-yaml), so Locust reads the same
declaration the Makefile, the benchmark and the in-cluster run read. Stdlib only.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Beside this module (the ConfigMap's mount), else the checkout's targets/ folder.
PLACES = (HERE, HERE.parent.parent / "targets")


def user_classes_by_target(places: tuple[Path, ...] = PLACES) -> dict[str, tuple[str, ...]]:
    """Target name → its user classes, plus "all"; from the first place holding manifests."""
    for place in places:
        manifests = sorted(place.glob("*.json"))
        if manifests:
            found = {}
            for path in manifests:
                data = json.loads(path.read_text())
                found[data["name"]] = tuple(data["user_classes"])
            found["all"] = tuple(name for classes in found.values() for name in classes)
            return found
    raise SystemExit(f"no target manifests (*.json) in {' or '.join(map(str, places))}")
