#!/usr/bin/env bash
# Build the local test cluster's binaries from Go modules into a cache outside the repository,
# keyed by version, only when absent:
#   $CELSIUSIFY_CLUSTER_CACHE (default /var/cache/celsiusify-cluster)/<component>-<version>/bin
# Kubernetes comes from the k8s.io/kubernetes module through a generated wrapper module that
# replaces each k8s.io/<staging> module with its published v0.x release. Compiles run under
# `nice -n 19` (shared machines). Prints how long each cold build took, and the total.
#
# Read it as a table of contents: the settings, the helpers, one build_<component> function per
# component (each returns at once when its binaries are in the cache), and main at the bottom,
# which calls them in order.
set -euo pipefail
cd "$(dirname "$0")/../.."

# --- settings: environment defaults, shared with up.sh and down.sh ---------------------------
# shellcheck source=scripts/cluster/versions.sh
source scripts/cluster/versions.sh
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
export GOCACHE=${GOCACHE_CLUSTER:-$CLUSTER_CACHE/go-build}
NICE=(nice -n 19)
built=()

usage() {
    cat <<EOF
usage: scripts/cluster/build.sh [-h|--help] [--only STEP...]

Build the local test cluster's binaries and images into the cache, only what is absent
(make cluster-build; needs Go, gcc and libseccomp-dev; Docker for the Locust image).

  --only STEP...  run only these build_ steps (e.g. --only build_prometheus)

Settings (environment, default in parentheses):
  CELSIUSIFY_CLUSTER_CACHE  binaries and images ($CLUSTER_CACHE)
  GOCACHE_CLUSTER           Go build cache ($GOCACHE)
  PYTHON                    runs scripts/cluster/image.py (python3)
  K8S_VERSION CONTAINERD_VERSION RUNC_VERSION ETCD_VERSION COREDNS_VERSION
  METRICS_SERVER_VERSION PAUSE_VERSION NETWORK_POLICIES_VERSION PROMETHEUS_VERSION
                            the pinned set (scripts/cluster/versions.sh)
EOF
}

# --- helpers ---------------------------------------------------------------------------------
log() { printf '==> %s\n' "$*" >&2; }

# new_wrapper DIR NAME: an empty module in DIR/mod to build other modules' commands from.
new_wrapper() {
    local dir=$1 name=$2
    rm -rf "$dir/mod" "$dir/bin.tmp"
    mkdir -p "$dir/mod" "$dir/bin.tmp"
    printf 'module celsiusify.local/cluster-build/%s\n\ngo %s\n' "$name" \
        "$(go env GOVERSION | sed 's/^go//')" >"$dir/mod/go.mod"
}

# tools_file DIR PKG...: blank imports so `go mod tidy` records every module the commands need.
tools_file() {
    local dir=$1
    shift
    {
        printf '//go:build tools\n\npackage tools\n\nimport (\n'
        printf '\t_ "%s"\n' "$@"
        printf ')\n'
    } >"$dir/mod/tools.go"
}

# finish DIR NAME START: move the built binaries into place and report the time.
finish() {
    local dir=$1 name=$2 start=$3
    rm -rf "${dir:?}/bin"
    mv "$dir/bin.tmp" "$dir/bin"
    local secs=$(($(date +%s) - start))
    printf '%s\n' "$secs" >"$dir/build-seconds"
    built+=("$name ${secs}s")
    log "$name built in ${secs}s: $(find "$dir/bin" -type f -printf '%f ')"
}

# only STEP...: the named build_ steps alone.
only() {
    local step
    for step in "$@"; do
        [[ $step == build_* && $(type -t "$step") == function ]] || {
            echo "build.sh: no step $step (see -h)" >&2
            exit 1
        }
    done
    for step in "$@"; do "$step"; done
}

# --- steps, in the order main runs them ------------------------------------------------------
build_runc() {
    local dir=$CLUSTER_CACHE/runc-$RUNC_VERSION
    [[ -x $dir/bin/runc ]] && return 0
    log "building runc $RUNC_VERSION (cgo, seccomp: needs gcc and libseccomp-dev)"
    local start
    start=$(date +%s)
    new_wrapper "$dir" runc
    (
        cd "$dir/mod"
        go mod edit -require="github.com/opencontainers/runc@$RUNC_VERSION"
        tools_file "$dir" github.com/opencontainers/runc
        go mod tidy
        CGO_ENABLED=1 "${NICE[@]}" go build -trimpath -tags seccomp \
            -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" \
            -o "$dir/bin.tmp/runc" github.com/opencontainers/runc
    )
    finish "$dir" "runc $RUNC_VERSION" "$start"
}

build_containerd() {
    local dir=$CLUSTER_CACHE/containerd-$CONTAINERD_VERSION
    [[ -x $dir/bin/containerd ]] && return 0
    log "building containerd $CONTAINERD_VERSION"
    local start
    start=$(date +%s)
    new_wrapper "$dir" containerd
    local base=github.com/containerd/containerd/v2
    (
        cd "$dir/mod"
        go mod edit -require="$base@$CONTAINERD_VERSION"
        tools_file "$dir" "$base/cmd/containerd" "$base/cmd/containerd-shim-runc-v2" "$base/cmd/ctr"
        go mod tidy
        local ldflags="-s -w -X $base/version.Version=$CONTAINERD_VERSION"
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath \
            -tags "urfave_cli_no_docs no_btrfs osusergo netgo" -ldflags "$ldflags" \
            -o "$dir/bin.tmp/" "$base/cmd/containerd" "$base/cmd/ctr"
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath \
            -tags "urfave_cli_no_docs no_btrfs osusergo netgo no_grpc" -ldflags "$ldflags" \
            -o "$dir/bin.tmp/" "$base/cmd/containerd-shim-runc-v2"
    )
    finish "$dir" "containerd $CONTAINERD_VERSION" "$start"
}

build_etcd() {
    local dir=$CLUSTER_CACHE/etcd-$ETCD_VERSION
    [[ -x $dir/bin/etcd ]] && return 0
    log "building etcd $ETCD_VERSION"
    local start
    start=$(date +%s)
    new_wrapper "$dir" etcd
    (
        cd "$dir/mod"
        # etcd's server module replaces its siblings with ../ paths: require them at the same tag.
        local mod
        for mod in server/v3 api/v3 client/v3 client/pkg/v3 pkg/v3; do
            go mod edit -require="go.etcd.io/etcd/$mod@$ETCD_VERSION"
        done
        tools_file "$dir" go.etcd.io/etcd/server/v3
        go mod tidy
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath -ldflags "-s -w" \
            -o "$dir/bin.tmp/etcd" go.etcd.io/etcd/server/v3
    )
    finish "$dir" "etcd $ETCD_VERSION" "$start"
}

build_kubernetes() {
    local dir=$CLUSTER_CACHE/kubernetes-$K8S_VERSION
    [[ -x $dir/bin/kubelet ]] && return 0
    log "building Kubernetes $K8S_VERSION (wrapper module in $dir/mod)"
    local start
    start=$(date +%s)
    new_wrapper "$dir" kubernetes
    local gomod src
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
    src=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
    (
        cd "$dir/mod"
        go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
        # k8s.io/kubernetes' go.mod points every staging module at ./staging/src/..., which the
        # module zip lacks: replace the ones it requires with their v0.<minor>.<patch> release.
        local staging_version=v0.${K8S_VERSION#v1.}
        local mod
        while read -r mod; do
            if grep -Eq "^[[:space:]]*${mod//./\\.} v0\.0\.0" "$gomod"; then
                go mod edit -replace="$mod=$mod@$staging_version"
            fi
        done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$gomod")
        local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
        tools_file "$dir" "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
        go mod tidy
        local minor=${K8S_VERSION#v1.}
        minor=${minor%%.*}
        local ldflags="-s -w" pkg var
        for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            for var in "gitVersion=$K8S_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean \
                "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
                ldflags+=" -X $pkg.$var"
            done
        done
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath -ldflags "$ldflags" -o "$dir/bin.tmp/" \
            "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
    )
    # Kept beside the binaries for build_pause: the pause source.
    mkdir -p "$dir/src"
    cp "$src/build/pause/linux/pause.c" "$dir/src/pause.c"
    finish "$dir" "kubernetes $K8S_VERSION" "$start"
}

build_pause() {
    local dir=$CLUSTER_CACHE/pause-$PAUSE_VERSION
    [[ -x $dir/bin/pause ]] && return 0
    local src=$CLUSTER_CACHE/kubernetes-$K8S_VERSION/src/pause.c
    log "building pause $PAUSE_VERSION from Kubernetes' build/pause/linux/pause.c"
    local start
    start=$(date +%s)
    rm -rf "$dir/bin.tmp"
    mkdir -p "$dir/bin.tmp"
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-celsiusify" -o "$dir/bin.tmp/pause" "$src"
    finish "$dir" "pause $PAUSE_VERSION" "$start"
}

build_coredns() {
    local dir=$CLUSTER_CACHE/coredns-$COREDNS_VERSION
    [[ -x $dir/bin/coredns ]] && return 0
    log "building CoreDNS $COREDNS_VERSION"
    local start
    start=$(date +%s)
    new_wrapper "$dir" coredns
    (
        cd "$dir/mod"
        go mod edit -require="github.com/coredns/coredns@$COREDNS_VERSION"
        tools_file "$dir" github.com/coredns/coredns
        go mod tidy
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath -ldflags "-s -w" \
            -o "$dir/bin.tmp/coredns" github.com/coredns/coredns
    )
    finish "$dir" "coredns $COREDNS_VERSION" "$start"
}

build_metrics_server() {
    local dir=$CLUSTER_CACHE/metrics-server-$METRICS_SERVER_VERSION
    [[ -x $dir/bin/metrics-server ]] && return 0
    log "building metrics-server $METRICS_SERVER_VERSION"
    local start
    start=$(date +%s)
    new_wrapper "$dir" metrics-server
    local pkg=sigs.k8s.io/metrics-server/cmd/metrics-server
    (
        cd "$dir/mod"
        go mod edit -require="sigs.k8s.io/metrics-server@$METRICS_SERVER_VERSION"
        tools_file "$dir" "$pkg"
        go mod tidy
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath \
            -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
            -o "$dir/bin.tmp/metrics-server" "$pkg"
    )
    finish "$dir" "metrics-server $METRICS_SERVER_VERSION" "$start"
}

# kube-network-policies, kind's NetworkPolicy agent. Its main package is the module's cmd/, so
# the binary is named here (go install would call it "cmd").
build_network_policies() {
    local dir=$CLUSTER_CACHE/kube-network-policies-$NETWORK_POLICIES_VERSION
    [[ -x $dir/bin/kube-network-policies ]] && return 0
    log "building kube-network-policies $NETWORK_POLICIES_VERSION"
    local start pkg=sigs.k8s.io/kube-network-policies/cmd
    start=$(date +%s)
    new_wrapper "$dir" kube-network-policies
    (
        cd "$dir/mod"
        go mod edit -require="sigs.k8s.io/kube-network-policies@$NETWORK_POLICIES_VERSION"
        tools_file "$dir" "$pkg"
        go mod tidy
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath -ldflags "-s -w" \
            -o "$dir/bin.tmp/kube-network-policies" "$pkg"
    )
    finish "$dir" "kube-network-policies $NETWORK_POLICIES_VERSION" "$start"
}

# The Prometheus server (module tag v0.3MM.P is release 3.MM.P). Only Kubernetes service
# discovery is compiled in (upstream's remove_all_sd and enable_<name>_sd tags: the other
# mechanisms' cloud SDKs would double the build), and no UI assets (upstream's builtinassets tag
# needs the UI built with npm): the API is what the tests read.
build_prometheus() {
    local dir=$CLUSTER_CACHE/prometheus-$PROMETHEUS_VERSION
    [[ -x $dir/bin/prometheus ]] && return 0
    local minor=${PROMETHEUS_VERSION#v0.}
    local release="3.$((10#${minor%%.*} - 300)).${minor#*.}"
    log "building Prometheus $release ($PROMETHEUS_VERSION)"
    local start base=github.com/prometheus/prometheus
    start=$(date +%s)
    new_wrapper "$dir" prometheus
    (
        cd "$dir/mod"
        go mod edit -require="$base@$PROMETHEUS_VERSION"
        tools_file "$dir" "$base/cmd/prometheus"
        go mod tidy
        local ldflags="-s -w -X github.com/prometheus/common/version.Version=$release"
        CGO_ENABLED=0 "${NICE[@]}" go build -trimpath -tags "remove_all_sd enable_kubernetes_sd" \
            -ldflags "$ldflags" -o "$dir/bin.tmp/prometheus" "$base/cmd/prometheus"
    )
    finish "$dir" "prometheus $PROMETHEUS_VERSION" "$start"
}

# Images: docker-archive tarballs that `ctr images import` reads (no registry; Docker only for Locust).
build_images() {
    mkdir -p "$IMAGES_DIR"
    local py=${PYTHON:-python3}
    [[ -f $IMAGES_DIR/pause.tar ]] ||
        "$py" scripts/cluster/image.py "$IMAGES_DIR/pause.tar" "$PAUSE_IMAGE" \
            --file "$PAUSE_BIN/pause:/pause" --entrypoint /pause --user 65535:65535
    [[ -f $IMAGES_DIR/coredns.tar ]] ||
        "$py" scripts/cluster/image.py "$IMAGES_DIR/coredns.tar" "$COREDNS_IMAGE" \
            --file "$COREDNS_BIN/coredns:/coredns" --entrypoint /coredns
    [[ -f $IMAGES_DIR/metrics-server.tar ]] ||
        "$py" scripts/cluster/image.py "$IMAGES_DIR/metrics-server.tar" "$METRICS_SERVER_IMAGE" \
            --file "$METRICS_SERVER_BIN/metrics-server:/metrics-server" \
            --entrypoint /metrics-server --user 65534:65534
}

# Locust (deliveryhero/locust chart) needs Python and pip: built with Docker, cached by key.
build_locust_image() {
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
        bash scripts/images/locust.sh
    else
        log "no Docker engine: no Locust image (tests/cluster's in-cluster Locust tests will skip)"
    fi
}

report_times() {
    if ((${#built[@]})); then
        log "cold build: ${built[*]}; total $(($(date +%s) - total_start))s"
    else
        log "all binaries already in $CLUSTER_CACHE (nothing built)"
    fi
}

# --- main: the whole build, in order ----------------------------------------------------------
main() {
    case ${1:-} in
    -h | --help)
        usage
        return 0
        ;;
    --only)
        shift
        total_start=$(date +%s)
        mkdir -p "$CLUSTER_CACHE"
        only "$@"
        report_times
        return 0
        ;;
    esac
    total_start=$(date +%s)
    mkdir -p "$CLUSTER_CACHE"
    build_runc
    build_containerd
    build_etcd
    build_kubernetes
    build_pause
    build_coredns
    build_metrics_server
    build_network_policies
    build_prometheus
    build_images
    build_locust_image
    report_times
}

main "$@"
