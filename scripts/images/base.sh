#!/usr/bin/env bash
# Build a local stand-in for the pinned Python base image, for air-gapped builds.
#
# Where no registry is reachable, `docker build` cannot pull python:3.11-slim-bookworm.
# This makes an image with the same name from Debian bookworm packages instead:
# debootstrap (minbase) + python3, python3-venv, python3-pip, ca-certificates, with
# `python` on PATH at /usr/local/bin like the official image, and the host's CA
# bundle baked in (PIP_CERT) so pip inside builds trusts the same authorities as
# the host. It is a stand-in: Debian's Python 3.11, not python.org's build.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
    cat <<'EOF'
usage: scripts/images/base.sh [IMAGE]   (default: the FROM of ./Dockerfile)

A local stand-in for the pinned Python base image, for air-gapped builds (make base-image):
debootstrap (minbase) + python3, python3-venv, python3-pip, ca-certificates.
Needs root and Docker.
env:   DEBIAN_MIRROR  mirror URL (default: the first URI in this host's apt sources)
       FORCE=1        rebuild even if the image already exists
EOF
}
case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
esac

image=${1:-$(sed -n 's/^ARG PYTHON_IMAGE=//p' Dockerfile | head -n1)}
[[ -n "$image" ]] || { echo "make-base-image: no image name given or found in Dockerfile" >&2; exit 2; }

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "make-base-image: $image already present"
    exit 0
fi
[[ $(id -u) == 0 ]] || { echo "make-base-image: debootstrap needs root" >&2; exit 2; }
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

mirror=${DEBIAN_MIRROR:-}
if [[ -z "$mirror" ]]; then
    mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | awk '{print $2}' | grep -v security | head -n1 || true)
fi
[[ -n "$mirror" ]] || { echo "make-base-image: set DEBIAN_MIRROR" >&2; exit 2; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "make-base-image: debootstrap bookworm from $mirror into $root"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
rm -f "$root.log"

ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
ln -sf /usr/bin/python3 "$root/usr/local/bin/python3"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
if [[ -f "$ca_bundle" ]]; then
    install -m 0644 "$ca_bundle" "$root/usr/local/share/host-ca-bundle.crt"
else
    ln -s "$ca_bundle" "$root/usr/local/share/host-ca-bundle.crt"
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/usr/local/share/host-ca-bundle.crt' \
    --change 'ENV SSL_CERT_FILE=/usr/local/share/host-ca-bundle.crt' \
    --change 'CMD ["python3"]' \
    - "$image" >/dev/null
echo "make-base-image: made stand-in $image"
docker image ls "$image"
