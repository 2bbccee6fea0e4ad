#!/usr/bin/env bash
# Build Prometheus's promtool from its Go module (through the Go module proxy: no release
# tarball host is reachable from these machines) into a cache keyed by version, and print the
# binary's path. The chart tests run `promtool check rules` and `promtool test rules` with it.
set -euo pipefail

# github.com/prometheus/prometheus tags Prometheus 3.x as v0.3MM.P (3.MM.P) and 2.x as v0.MM.P.
readonly DEFAULT_VERSION=v0.316.0
readonly MODULE=github.com/prometheus/prometheus

usage() {
    cat <<USAGE
usage: scripts/tools/promtool.sh [-h] [-n] [-v VERSION]

Build promtool (${MODULE}/cmd/promtool@VERSION) unless the cached binary exists,
then print its path on stdout (build output goes to stderr).

  -v VERSION  module version, default \$PROMTOOL_VERSION or ${DEFAULT_VERSION} (Prometheus $(release_of "$DEFAULT_VERSION"))
  -n          build nothing: print the cached binary's path, or exit 4 if it is not there
  -h          this help

Cache: \${CELSIUSIFY_TOOLS_CACHE:-/var/cache/celsiusify-tools}/promtool-VERSION/promtool
Needs: go, at least the version the module's go.mod names (go 1.26.7 for ${DEFAULT_VERSION});
no other toolchain is downloaded unless GOTOOLCHAIN says so (default local).
Exit status: 0 built or cached, 1 the build failed, 2 usage, 3 no go, 4 not cached (-n).
USAGE
}

# The Prometheus release a module version stands for: v0.316.0 -> 3.16.0, v0.54.1 -> 2.54.1.
release_of() {
    local minor patch rest
    rest=${1#v0.}
    minor=${rest%%.*}
    patch=${rest#*.}
    if ((10#$minor >= 300)); then
        echo "3.$((10#$minor - 300)).$patch"
    else
        echo "2.$minor.$patch"
    fi
}

if [[ ${1:-} == --help ]]; then
    usage
    exit 0
fi
version=${PROMTOOL_VERSION:-$DEFAULT_VERSION}
build=true
while getopts ":hnv:" opt; do
    case $opt in
        h) usage; exit 0 ;;
        n) build=false ;;
        v) version=$OPTARG ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if (($# > 0)) || [[ ! $version =~ ^v0\.[0-9]+\.[0-9]+$ ]]; then
    usage >&2
    exit 2
fi

cache=${CELSIUSIFY_TOOLS_CACHE:-/var/cache/celsiusify-tools}
dir=$cache/promtool-$version
binary=$dir/promtool
if [[ -x $binary ]]; then
    echo "$binary"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "no Go toolchain on PATH: promtool is built from the Prometheus Go module" >&2
    exit 3
fi
if ! $build; then
    echo "promtool ${version} is not built yet: $binary is absent (make promtool)" >&2
    exit 4
fi

if ! mkdir -p "$dir"; then
    echo "cannot create $dir: set CELSIUSIFY_TOOLS_CACHE to a writable folder" >&2
    exit 1
fi
# Built beside the cache entry and moved into place whole, so a concurrent run or an
# interrupted build never leaves a half-written binary at the cached path.
work=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "building ${MODULE}/cmd/promtool@${version} (Prometheus $(release_of "$version")) into $dir" >&2
# GOTOOLCHAIN=local unless set: use the installed Go rather than fetch the one go.mod names
# (a runner whose Go is older sets GOTOOLCHAIN=auto). nice: the machines are small and shared.
GOBIN=$work GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0 nice -n 10 go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$(release_of "$version")" \
    "${MODULE}/cmd/promtool@${version}" >&2
mv -f "$work/promtool" "$binary"
echo "$binary"
