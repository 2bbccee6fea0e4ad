#!/usr/bin/env bash
# The Locust image of the local test cluster, without a registry: built with Docker from
# scripts/images/locust.Dockerfile (the Python base stand-in + the locust pinned in
# requirements-dev.txt), saved as a docker-archive under the exact name locust/values.yaml runs
# (image.repository:image.tag, e.g. locustio/locust:2.47.0), and with --import loaded into the
# cluster's own containerd (where scripts/cluster/up.sh also imports every archive of the cache).
#
# Cached: the archive is rebuilt only when its key changes (the Dockerfile, the locust pin, the
# image name and the base image's ID), kept in $CELSIUSIFY_CLUSTER_CACHE/images/locust.key.
# With --import the image goes into the running cluster's containerd unless it is already there
# with the same content. Needs Docker; a missing base is made by scripts/images/base.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/cluster/versions.sh
source scripts/cluster/versions.sh
# shellcheck source=scripts/cluster/env.sh
source scripts/cluster/env.sh

die() {
    printf 'locust-image: %s\n' "$*" >&2
    exit 1
}
log() { printf '==> %s\n' "$*" >&2; }
usage() {
    cat <<EOF
usage: scripts/images/locust.sh [--import]

Build the local cluster's Locust image with Docker and save it as a docker-archive,
  $IMAGES_DIR/locust.tar
rebuilt only when its key (locust.key beside it) changes; with --import, load it into the
running cluster's containerd unless it is already there.
Settings: CELSIUSIFY_CLUSTER_CACHE ($CLUSTER_CACHE).
EOF
}

import=0
case "${1:-}" in
"") ;;
--import) import=1 ;;
-h | --help)
    usage
    exit 0
    ;;
*) die "usage: scripts/images/locust.sh [--import] (not '$1')" ;;
esac

# image.repository and image.tag of locust/values.yaml (top-level `image:` block, 2-space keys).
values_image() {
    awk '/^image:/ { inside = 1; next } /^[^ #]/ { inside = 0 }
        inside && $1 == "'"$1"':" { print $2; exit }' locust/values.yaml
}
repository=$(values_image repository)
tag=$(values_image tag)
[[ -n $repository && -n $tag ]] || die "no image.repository/image.tag in locust/values.yaml"
locust_version=$(sed -n 's/^locust==\([^ ;#]*\).*/\1/p' requirements-dev.txt)
[[ -n $locust_version ]] || die "no locust==<version> pin in requirements-dev.txt"
# The chart runs the same Locust as `make bench`: the image tag is the pin.
[[ $tag == "$locust_version" ]] ||
    die "locust/values.yaml runs $repository:$tag but requirements-dev.txt pins locust==$locust_version"
image=$repository:$tag
base=$(sed -n 's/^ARG PYTHON_IMAGE=//p' scripts/images/locust.Dockerfile | head -n1)
archive=$IMAGES_DIR/locust.tar

command -v docker >/dev/null || die "needs docker (to build $image)"
# No registry here: the base is the local stand-in when Docker does not have it yet.
docker image inspect "$base" >/dev/null 2>&1 || bash scripts/images/base.sh "$base"
base_id=$(docker image inspect --format '{{.Id}}' "$base")
key=$({
    cat scripts/images/locust.Dockerfile
    printf '%s\n' "$image" "$locust_version" "$base_id"
} | sha256sum | cut -d' ' -f1)

mkdir -p "$IMAGES_DIR"
if [[ -f $archive && $(cat "$IMAGES_DIR/locust.key" 2>/dev/null) == "$key" ]]; then
    log "$image: cached ($archive)"
else
    log "building $image (locust==$locust_version on $base)"
    start=$(date +%s)
    docker build --network host --quiet --build-arg "LOCUST_VERSION=$locust_version" \
        -t "$image" - <scripts/images/locust.Dockerfile >/dev/null
    rm -f "$IMAGES_DIR/locust.key"
    docker save "$image" -o "$archive.tmp"
    mv "$archive.tmp" "$archive"
    printf '%s\n' "$key" >"$IMAGES_DIR/locust.key"
    log "$image built and saved in $(($(date +%s) - start))s ($(du -m "$archive" | cut -f1) MB)"
fi

((import)) || exit 0
[[ -S $CONTAINERD_SOCK ]] || die "no cluster containerd at $CONTAINERD_SOCK: make cluster-up"
ctr=("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io)
# The name containerd and the kubelet give it (Docker Hub's default registry and library).
case $repository in
*.*/* | localhost/*) full=$image ;;
*/*) full=docker.io/$image ;;
*) full=docker.io/library/$image ;;
esac
want=$(docker image inspect --format '{{.Id}}' "$image")
have=$("${ctr[@]}" images ls "name==$full" 2>/dev/null | awk 'NR == 2 { print $3 }')
# ctr lists the manifest digest; the config digest is what Docker calls the image ID.
if [[ -n $have ]] && "${ctr[@]}" content get "$have" 2>/dev/null | grep -q "${want#sha256:}"; then
    log "$full already in the cluster's containerd"
    exit 0
fi
"${ctr[@]}" images import --label io.cri-containerd.pinned=pinned "$archive" 2>&1 >/dev/null |
    grep -v DEPRECATION >&2 || true
"${ctr[@]}" images ls -q | grep -qx "$full" || die "import of $archive did not give $full"
log "$full imported into the cluster's containerd"
