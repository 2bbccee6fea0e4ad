"""Write a one-layer image as a docker-archive tarball that `ctr images import` reads.

The local test cluster has no registry and must not depend on Docker for its own images, so the
pause, CoreDNS and metrics-server images are a static binary in a single layer, written here:

    python3 scripts/cluster/image.py OUT.tar NAME:TAG --file SRC:/DEST --entrypoint /DEST [--user U]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path


def _layer(files: list[tuple[Path, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for src, dest in files:
            info = tarfile.TarInfo(dest.lstrip("/"))
            data = src.read_bytes()
            info.size = len(data)
            info.mode = 0o755
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build(out: Path, ref: str, files: list[tuple[Path, str]], entrypoint: str, user: str) -> None:
    layer = _layer(files)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": [entrypoint],
            "User": user,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        # Not this file's path: the string is part of the config, so of the image ID, and it
        # stays as it is wherever the script lives, so the images do too.
        "history": [{"created_by": "scripts/cluster-image.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": [layer_name]}]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, mode="w") as tar:
        for name, data in (
            (config_name, config_bytes),
            (layer_name, layer),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("ref", help="image name the manifests use, e.g. registry.k8s.io/pause:3.10")
    parser.add_argument("--file", action="append", required=True, help="SRC:/DEST in the image")
    parser.add_argument("--entrypoint", required=True)
    parser.add_argument("--user", default="0:0")
    args = parser.parse_args()
    files = [(Path(src), dest) for src, dest in (f.split(":", 1) for f in args.file)]
    build(args.out, args.ref, files, args.entrypoint, args.user)
    print(f"{args.out}: {args.ref}")


if __name__ == "__main__":
    main()
