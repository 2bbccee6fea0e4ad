#!/usr/bin/env bash
# Install the Debian packages CI needs that this machine lacks, in one apt-get run:
#   docker.io debootstrap
#                      the image tests (tests/docker), the images the local cluster runs, and
#                      the stand-in for their base (scripts/images/base.sh: no registry here)
#   poppler-utils      pdftoppm, which renders the report's first page in the report tests
#   gcc libc6-dev libseccomp-dev pkg-config
#                      the local cluster's build: runc (cgo, seccomp) and the static pause binary
#   containernetworking-plugins iptables iproute2 openssl curl
#                      the local cluster's start: bridge/host-local CNI, kube-proxy, certificates
# Needs root; without it, prints what is missing and returns 1 (the caller says what is skipped).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/ci/apt.sh

Install, in one apt-get run, the Debian packages CI needs that this machine lacks (.ci/run's
first step). Needs root; without it, prints what is missing and exits 1.
EOF
}
case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
esac

wanted=(docker.io debootstrap poppler-utils gcc libc6-dev libseccomp-dev pkg-config
    containernetworking-plugins iptables iproute2 openssl curl)
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) != 0 ]]; then
    printf 'ci-apt: not root, cannot install: %s\n' "${missing[*]}" >&2
    exit 1
fi
printf 'ci-apt: installing %s\n' "${missing[*]}" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
