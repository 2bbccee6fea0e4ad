#!/usr/bin/env bash
# Make a Docker engine answer for the image tests, and the stand-in for the pinned base image
# (no registry is reachable here: scripts/images/base.sh). Progress goes to stderr; on
# failure the one-line reason goes to stdout and the exit status is 1, so the caller can say
# loudly what will be skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
    cat <<'EOF'
usage: scripts/ci/docker.sh

Make a Docker engine answer (start dockerd when root and none does) and make the base image
stand-in (scripts/images/base.sh); .ci/run's Docker step. On failure the reason goes to stdout
and the exit status is 1.
EOF
}
case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
esac

fail() {
    printf '%s\n' "$*"
    exit 1
}

if ! docker info >/dev/null 2>&1; then
    [[ $(id -u) == 0 ]] || fail "not root, cannot start a Docker engine"
    command -v dockerd >/dev/null || fail "no dockerd (Debian's docker.io is not installed)"
    # A daemon killed with the previous session leaves pid files that stop a new one.
    for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
        if [[ -f $pidfile ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            rm -f "$pidfile"
        fi
    done
    printf '==> starting dockerd --iptables=false --bridge=none\n' >&2
    (dockerd --iptables=false --bridge=none >/tmp/celsiusify-dockerd.log 2>&1 &)
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 ||
        fail "dockerd did not come up: $(tail -n 3 /tmp/celsiusify-dockerd.log | tr '\n' ' ')"
fi
printf '==> Docker engine %s\n' "$(docker info --format '{{.ServerVersion}}')" >&2
bash scripts/images/base.sh >&2 ||
    fail "could not make the base image stand-in (scripts/images/base.sh failed)"
