#!/usr/bin/env bash
# Stop the local test cluster and remove everything up.sh made: its processes (by their
# pid files; container shims by the cluster's own containerd socket; pod processes by the
# kubelet's kubepods cgroups), iptables chains (KUBE-*, CNI-*, the NetworkPolicy queue's), mounts
# under its state and run directories (pod volumes, overlay rootfs, network namespaces), the
# bridge, the cgroups, and the state itself (KEEP_STATE=1 keeps certificates and logs). Safe to
# run when nothing is up.
#
# Read it as a table of contents: the settings, the helpers, one stop_<component> function per
# step, and main at the bottom, which calls the steps in order.
set -euo pipefail
cd "$(dirname "$0")/../.."

# --- settings: environment defaults, shared with up.sh and build.sh --------------------------
# shellcheck source=scripts/cluster/versions.sh
source scripts/cluster/versions.sh
# shellcheck source=scripts/cluster/env.sh
source scripts/cluster/env.sh

usage() {
    cat <<EOF
usage: scripts/cluster/down.sh [-h|--help] [--only STEP...]

Stop the local test cluster (make cluster-down; needs root) and remove its processes, iptables
chains, mounts, bridge, cgroups and state. Safe to run when nothing is up.

  --only STEP...  run only these stop_ steps and leave the rest of the cluster up
                  (e.g. --only stop_network_policies; up.sh --only starts it again)

Settings (environment, default in parentheses):
  KEEP_STATE=1              keep $STATE_DIR (certificates and logs)
  CELSIUSIFY_CLUSTER_STATE  certificates, kubeconfigs, logs, data ($STATE_DIR)
  CELSIUSIFY_CLUSTER_RUN    pid files and sockets ($RUN_DIR)
  CELSIUSIFY_CLUSTER_CACHE  binaries, for kube-proxy --cleanup ($CLUSTER_CACHE)
EOF
}

# --- helpers ---------------------------------------------------------------------------------
log() { printf '==> %s\n' "$*" >&2; }

# kill_pid NAME [SIGNAL]: SIGNAL (default TERM) to the process in $RUN_DIR/pids/NAME, KILL it
# after 10 s.
kill_pid() {
    local file=$RUN_DIR/pids/$1 signal=${2:-TERM} pid i
    [[ -f $file ]] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -s "$signal" "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        log "stopped $1 (pid $pid)"
    fi
    rm -f "$file"
}

# Pod processes: every pid in the kubelet's kubepods cgroups (cgroupfs driver).
kill_pods() {
    local procs pid
    procs=$(find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods -name cgroup.procs \
        -exec cat {} + 2>/dev/null | sort -u) || true
    for pid in $procs; do kill -9 "$pid" 2>/dev/null || true; done
    [[ -z $procs ]] || log "killed $(wc -w <<<"$procs") pod processes"
}

# Shims of this cluster's containerd (their command line names its socket).
kill_shims() {
    local dir pid
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        if { tr '\0' ' ' <"$dir/cmdline"; } 2>/dev/null | grep -q -- "-address $CONTAINERD_SOCK"; then
            kill -9 "$pid" 2>/dev/null && log "killed shim $pid"
        fi
    done
    return 0
}

# clean_iptables CMD: in every table, the jumps to KUBE-*/CNI-* chains, then those chains.
clean_iptables() {
    local cmd=$1 table builtin num chain
    for table in filter nat mangle raw; do
        "$cmd" -t "$table" -S >/dev/null 2>&1 || continue
        # Jumps from the built-in chains to ours, by rule number (highest first).
        for builtin in PREROUTING INPUT FORWARD OUTPUT POSTROUTING; do
            for num in $("$cmd" -t "$table" -L "$builtin" -n --line-numbers 2>/dev/null |
                awk '$2 ~ /^(KUBE|CNI)-/ { print $1 }' | sort -rn); do
                "$cmd" -t "$table" -D "$builtin" "$num"
            done
        done
        for chain in $("$cmd" -t "$table" -S | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p'); do
            "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
        done
        for chain in $("$cmd" -t "$table" -S | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p'); do
            "$cmd" -t "$table" -X "$chain" 2>/dev/null || log "could not delete $cmd -t $table $chain"
        done
    done
}

# Mounts under the state and run directories, deepest first (pod volumes, rootfs, netns).
unmount_all() {
    local mnt
    while read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "could not unmount $mnt"
    done < <(awk -v a="$STATE_DIR" -v b="$RUN_DIR" \
        'index($5, a) == 1 || index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

# only STEP...: the named stop_ steps alone; the rest of the cluster stays up.
only() {
    local step
    for step in "$@"; do
        [[ $step == stop_* && $(type -t "$step") == function ]] || {
            echo "cluster-down: no step $step (see -h)" >&2
            exit 1
        }
    done
    for step in "$@"; do "$step"; done
}

# --- steps, in the order main runs them ------------------------------------------------------
check_root() {
    [[ $(id -u) == 0 ]] || {
        echo "cluster-down: needs root" >&2
        exit 1
    }
}

# First, while the API server still answers. Prometheus keeps its data under the state
# directory, which goes with the rest.
stop_prometheus() { kill_pid prometheus; }

# The chain that queues connections for kube-network-policies, then the agent, with SIGINT: its
# only shutdown signal (it removes its nftables table then, where a kernel let it load one).
stop_network_policies() {
    local chain=$NETWORK_POLICIES_CHAIN
    while iptables -t mangle -D POSTROUTING -j "$chain" 2>/dev/null; do :; done
    if iptables -t mangle -F "$chain" 2>/dev/null; then
        iptables -t mangle -X "$chain"
        log "deleted iptables chain mangle $chain"
    fi
    kill_pid kube-network-policies INT
}

stop_kubelet() { kill_pid kubelet; }

# Pod processes, this containerd's shims, then pod processes again.
stop_pods() {
    kill_pods
    kill_shims
    kill_pods
}

stop_kube_proxy() { kill_pid kube-proxy; }
stop_containerd() { kill_pid containerd; }
# CoreDNS and metrics-server run as pods (stop_pods); these stop a host process only if a pid
# file of that name exists.
stop_metrics_server() { kill_pid metrics-server; }
stop_coredns() { kill_pid coredns; }
stop_scheduler() { kill_pid kube-scheduler; }
stop_controller_manager() { kill_pid kube-controller-manager; }
stop_apiserver() { kill_pid kube-apiserver; }
stop_etcd() { kill_pid etcd; }

# iptables: kube-proxy's own cleanup, then any KUBE-*/CNI-* chain left (kubelet, CNI plugins),
# then up.sh's no-egress rule.
stop_iptables() {
    if [[ -x $K8S_BIN/kube-proxy ]]; then
        "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
    fi
    clean_iptables iptables
    while iptables -D FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -m comment --comment "$EGRESS_COMMENT" -j REJECT \
        2>/dev/null; do :; done
    command -v ip6tables >/dev/null && clean_iptables ip6tables
}

stop_mounts() {
    unmount_all
    unmount_all
}

# Network devices: veths still on the bridge, then the bridge.
stop_bridge() {
    if ip link show "$BRIDGE" >/dev/null 2>&1; then
        for dev in $(ip -o link show master "$BRIDGE" | awk -F': ' '{print $2}' | cut -d@ -f1); do
            ip link del "$dev" 2>/dev/null || true
        done
        ip link del "$BRIDGE"
        log "deleted bridge $BRIDGE"
    fi
}

# The kubelet's cgroups (every v1 hierarchy and the unified one), deepest first.
stop_cgroups() {
    for top in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods; do
        [[ -d $top ]] || continue
        find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null || log "could not remove all of $top"
    done
}

# The run and state directories, never while something is still mounted under them.
remove_state() {
    if awk -v a="$STATE_DIR" -v b="$RUN_DIR" 'index($5, a) == 1 || index($5, b) == 1 {f=1} END {exit !f}' \
        /proc/self/mountinfo; then
        log "mounts remain under $STATE_DIR or $RUN_DIR: not deleting them"
        exit 1
    fi
    rm -rf --one-file-system "$RUN_DIR"
    if [[ ${KEEP_STATE:-0} != 1 ]]; then
        rm -rf --one-file-system "$STATE_DIR"
    fi
}

# --- main: the whole stop, in order ------------------------------------------------------------
main() {
    case ${1:-} in
    -h | --help)
        usage
        return 0
        ;;
    --only)
        shift
        check_root
        only "$@"
        return 0
        ;;
    esac
    check_root
    stop_prometheus
    stop_network_policies
    stop_kubelet
    stop_pods
    stop_kube_proxy
    stop_containerd
    stop_metrics_server
    stop_coredns
    stop_scheduler
    stop_controller_manager
    stop_apiserver
    stop_etcd
    stop_iptables
    stop_mounts
    stop_bridge
    stop_cgroups
    remove_state
    log "local cluster down"
}

main "$@"
