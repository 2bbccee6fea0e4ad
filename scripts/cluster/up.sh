#!/usr/bin/env bash
# Start the local single-node test cluster from host processes (binaries from build.sh):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a containerd of its own (own
# root, state and socket; Docker's containerd is never touched), kubelet (cgroupfs, bridge CNI),
# kube-proxy (iptables), CoreDNS and metrics-server, kube-network-policies (NetworkPolicy) and
# Prometheus. Everything listens on loopback or on the cluster's own bridge; no name resolves
# outside cluster.local. Stop it with down.sh.
#
# Read it as a table of contents: the settings, the helpers, one function per step (each
# start_<component> starts one and waits for it where the cluster needs it ready), and main at
# the bottom, which calls the steps in order.
set -euo pipefail
cd "$(dirname "$0")/../.."

# --- settings: environment defaults, shared with down.sh and build.sh ------------------------
# shellcheck source=scripts/cluster/versions.sh
source scripts/cluster/versions.sh
# shellcheck source=scripts/cluster/env.sh
source scripts/cluster/env.sh
pki=$STATE_DIR/pki

usage() {
    cat <<EOF
usage: scripts/cluster/up.sh [-h|--help] [--only STEP...]

Start the local single-node test cluster (make cluster-up; needs root and make cluster-build).
Stop it with scripts/cluster/down.sh (make cluster-down).

  --only STEP...  run only these start_ steps, on a cluster that is up (one component again,
                  e.g. --only start_prometheus after down.sh --only stop_prometheus)

Settings (environment, default in parentheses):
  CELSIUSIFY_CLUSTER_CACHE  binaries and images ($CLUSTER_CACHE)
  CELSIUSIFY_CLUSTER_STATE  certificates, kubeconfigs, logs, data ($STATE_DIR)
  CELSIUSIFY_CLUSTER_RUN    pid files and sockets ($RUN_DIR)
  CNI_BIN_DIR               bridge and host-local CNI plugins ($CNI_BIN_DIR)
  K8S_VERSION CONTAINERD_VERSION RUNC_VERSION ETCD_VERSION COREDNS_VERSION
  METRICS_SERVER_VERSION PAUSE_VERSION NETWORK_POLICIES_VERSION PROMETHEUS_VERSION
                            the pinned set (scripts/cluster/versions.sh)
Afterwards: export KUBECONFIG=$KUBECONFIG_ADMIN; Prometheus on http://$PROMETHEUS_ADDRESS
EOF
}

# --- helpers ---------------------------------------------------------------------------------
log() { printf '==> [%3ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }
die() {
    printf 'cluster-up: %s\n' "$*" >&2
    exit 1
}

# start NAME CMD...: a detached process, its pid in $RUN_DIR/pids/NAME, its log in logs/NAME.log.
# It inherits no descriptor above stderr: under `flock LOCK make cluster-up` the daemons would
# otherwise keep the lock's descriptor open, and the lock held, for as long as the cluster runs.
start() {
    local name=$1
    shift
    (
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec setsid "$@" >"$STATE_DIR/logs/$name.log" 2>&1 </dev/null
    ) &
    echo $! >"$RUN_DIR/pids/$name"
}

# wait_for WHAT SECONDS CMD...: retry CMD once a second; on timeout show the log and fail.
wait_for() {
    local what=$1 secs=$2
    shift 2
    local i
    for ((i = 0; i < secs; i++)); do
        if "$@" >/dev/null 2>&1; then
            log "$what ready"
            return 0
        fi
        sleep 1
    done
    die "$what not ready after ${secs}s (logs in $STATE_DIR/logs)"
}

cert() { # cert NAME CN O CA [SAN]: key + certificate signed by CA (client cert unless SAN given)
    local name=$1 cn=$2 org=$3 ca=$4 san=${5:-}
    [[ -f $pki/$name.crt ]] && return 0
    local subj="/CN=$cn"
    [[ -n $org ]] && subj="/O=$org$subj"
    openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
    openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr"
    local ext="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    if [[ -n $san ]]; then
        ext+="extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=$san\n"
    else
        ext+="extendedKeyUsage=clientAuth\n"
    fi
    openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
        -CAcreateserial -days 365 -sha256 -out "$pki/$name.crt" \
        -extfile <(printf '%b' "$ext") 2>/dev/null
    rm -f "$pki/$name.csr"
}
ca() { # ca NAME CN
    [[ -f $pki/$1.crt ]] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -out "$pki/$1.crt" \
        -days 365 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}
kubeconfig() { # kubeconfig NAME CERT: a kubeconfig for the client certificate CERT
    local file=$STATE_DIR/$1.kubeconfig
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: celsiusify-local
  cluster:
    certificate-authority: $pki/ca.crt
    server: https://$NODE_IP:$APISERVER_PORT
users:
- name: $2
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: celsiusify-local
  context: {cluster: celsiusify-local, user: $2}
current-context: celsiusify-local
EOF
}

import_image() {
    "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io images import \
        --label io.cri-containerd.pinned=pinned "$1" 2>&1 >/dev/null | grep -v DEPRECATION >&2 || true
}

kc() { kubectl --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
node_ready() {
    [[ $(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
dns_resolves() {
    kc -n kube-system get endpointslices -l k8s-app=kube-dns -o name | grep -q . &&
        nslookup_host kubernetes.default.svc.cluster.local "$DNS_SVC_IP"
}
nslookup_host() { # resolve NAME through SERVER with python (no dig/nslookup needed)
    python3 - "$1" "$2" <<'PY'
import socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(q, (server, 53))
r = s.recv(512)
sys.exit(0 if (r[3] & 0x0F) == 0 and struct.unpack(">H", r[6:8])[0] > 0 else 1)
PY
}

# service_account_files NAME DIR: what a pod of ServiceAccount kube-system/NAME finds in
# /var/run/secrets/kubernetes.io/serviceaccount (a token, the cluster CA, the namespace), in DIR.
service_account_files() {
    local name=$1 dir=$2
    mkdir -p "$dir"
    chmod 0700 "$dir"
    kc -n kube-system create token "$name" --duration 8760h >"$dir/token.new"
    mv "$dir/token.new" "$dir/token"
    cp "$pki/ca.crt" "$dir/ca.crt"
    printf kube-system >"$dir/namespace"
}

# queue_bound NUMBER: a process reads that NFQUEUE.
queue_bound() {
    awk -v q="$1" '$1 == q { found = 1 } END { exit !found }' /proc/net/netfilter/nfnetlink_queue
}

# only STEP...: the named start_ steps alone, on a cluster that is up.
only() {
    local step
    for step in "$@"; do
        [[ $step == start_* && $(type -t "$step") == function ]] || die "no step $step (see -h)"
    done
    export PATH=$CONTAINERD_BIN:$RUNC_BIN:$K8S_BIN:$PATH
    for step in "$@"; do "$step"; done
}

# --- steps, in the order main runs them ------------------------------------------------------
check_prerequisites() {
    [[ $(id -u) == 0 ]] || die "needs root (network devices, iptables, mounts, cgroups)"
    for bin in "$K8S_BIN/kubelet" "$CONTAINERD_BIN/containerd" "$RUNC_BIN/runc" "$ETCD_BIN/etcd" \
        "$COREDNS_BIN/coredns" "$METRICS_SERVER_BIN/metrics-server" "$IMAGES_DIR/pause.tar" \
        "$NETWORK_POLICIES_BIN/kube-network-policies" "$PROMETHEUS_BIN/prometheus"; do
        [[ -e $bin ]] || die "missing $bin: run make cluster-build"
    done
    for cmd in openssl iptables ip unshare; do
        command -v "$cmd" >/dev/null || die "missing $cmd"
    done
    [[ -x $CNI_BIN_DIR/bridge && -x $CNI_BIN_DIR/host-local ]] ||
        die "no CNI plugins in $CNI_BIN_DIR: apt-get install containernetworking-plugins"
    if [[ -f $RUN_DIR/pids/kube-apiserver ]] && kill -0 "$(cat "$RUN_DIR/pids/kube-apiserver")" 2>/dev/null; then
        die "a local cluster is already running (make cluster-down first)"
    fi
}

make_directories() {
    mkdir -p "$STATE_DIR"/{pki,logs,etcd,kubelet,containerd,cni/net.d,cni/ipam,manifests} \
        "$RUN_DIR"/{pids,containerd}
    export PATH=$CONTAINERD_BIN:$RUNC_BIN:$K8S_BIN:$PATH
}

make_certificates() {
    log "certificates and kubeconfigs in $STATE_DIR"
    ca ca celsiusify-local-ca
    ca front-proxy-ca celsiusify-local-front-proxy-ca
    cert apiserver kube-apiserver "" ca \
        "IP:$NODE_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters ca
    cert front-proxy-client front-proxy-client "" front-proxy-ca
    cert admin kubernetes-admin system:masters ca
    cert controller-manager system:kube-controller-manager "" ca
    cert scheduler system:kube-scheduler "" ca
    cert kubelet "system:node:$NODE_NAME" system:nodes ca
    cert kubelet-serving "$NODE_NAME" "" ca "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE_NAME"
    cert kube-proxy system:kube-proxy "" ca
    [[ -f $pki/sa.key ]] || {
        openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
        openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
    }
    for who in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$who" "$who"; done
}

# The bridge: pods' network and the node's address.
start_bridge() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
    fi
    ip addr replace "$NODE_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    # Service IPs route to the bridge, never to the default gateway: a ClusterIP that kube-proxy has
    # not programmed yet (or no longer has) must fail here, not leave the machine. Pods may reach
    # the node and each other, nothing past the bridge.
    ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
    iptables -C FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -m comment --comment "$EGRESS_COMMENT" -j REJECT \
        2>/dev/null ||
        iptables -I FORWARD 1 -i "$BRIDGE" ! -o "$BRIDGE" -m comment --comment "$EGRESS_COMMENT" -j REJECT
    log "bridge $BRIDGE $NODE_IP/24 (pods $POD_CIDR, services $SERVICE_CIDR routed to it; no egress)"
}

start_etcd() {
    start etcd "$ETCD_BIN/etcd" --name celsiusify-local --data-dir "$STATE_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "celsiusify-local=http://127.0.0.1:$ETCD_PEER_PORT" \
        --listen-metrics-urls "" --log-level warn
    wait_for "etcd $ETCD_VERSION" 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
    start kube-apiserver "$K8S_BIN/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" \
        --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC \
        --allow-privileged=true \
        --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
        --requestheader-allowed-names front-proxy-client \
        --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
        --requestheader-extra-headers-prefix X-Remote-Extra- \
        --proxy-client-cert-file "$pki/front-proxy-client.crt" \
        --proxy-client-key-file "$pki/front-proxy-client.key" \
        --enable-aggregator-routing=true
    wait_for "kube-apiserver $K8S_VERSION" 90 kubectl --kubeconfig "$KUBECONFIG_ADMIN" get --raw /readyz
}

start_controller_manager() {
    start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
        --kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
        --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false \
        --horizontal-pod-autoscaler-sync-period 5s
}

start_scheduler() {
    start kube-scheduler "$K8S_BIN/kube-scheduler" \
        --kubeconfig "$STATE_DIR/scheduler.kubeconfig" \
        --authentication-kubeconfig "$STATE_DIR/scheduler.kubeconfig" \
        --authorization-kubeconfig "$STATE_DIR/scheduler.kubeconfig" \
        --bind-address 127.0.0.1 --leader-elect=false
}

# A containerd of its own, and the CNI configuration its CRI plugin reads.
start_containerd() {
    cat >"$STATE_DIR/containerd.toml" <<EOF
version = 3
root = "$STATE_DIR/containerd"
state = "$RUN_DIR/containerd"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$RUN_DIR/containerd-ttrpc.sock"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  netns_mounts_under_state_dir = true
  # No CAP_SYS_RESOURCE in this machine's bounding set: runc cannot lower oom_score_adj below
  # containerd's own (the kubelet asks -998 for sandboxes), so clamp instead of failing.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$RUNC_BIN/runc"
        Root = "$RUN_DIR/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["$CNI_BIN_DIR"]
    conf_dir = "$STATE_DIR/cni/net.d"
    max_conf_num = 1
[plugins.'io.containerd.internal.v1.opt']
  path = "$STATE_DIR/containerd-opt"
EOF
    cat >"$STATE_DIR/cni/net.d/10-celsiusify.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "celsiusify-local",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$STATE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
    start containerd "$CONTAINERD_BIN/containerd" --config "$STATE_DIR/containerd.toml"
    wait_for "containerd $CONTAINERD_VERSION ($CONTAINERD_SOCK)" 30 \
        "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" version
}

# The add-ons' images now; the workload images of the tests (Locust's is 270 MB) meanwhile:
# wait_image_imports collects them at the end.
start_image_imports() {
    for image in "$IMAGES_DIR"/{pause,coredns,metrics-server}.tar; do import_image "$image"; done
    imports=()
    for image in "$IMAGES_DIR"/*.tar; do
        case ${image##*/} in
        pause.tar | coredns.tar | metrics-server.tar) ;;
        *)
            import_image "$image" &
            imports+=($!)
            ;;
        esac
    done
}

start_kubelet() {
    cat >"$STATE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubelet 1.35+ refuses cgroup v1 unless this is false (KEP-5573); this machine is cgroup v1.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_IP
readOnlyPort: 0
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$DNS_SVC_IP]
resolvConf: ""
failSwapOn: false
podCIDR: $POD_CIDR
maxPods: 60
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
serializeImagePulls: false
EOF
    start kubelet "$K8S_BIN/kubelet" --config "$STATE_DIR/kubelet.yaml" \
        --kubeconfig "$STATE_DIR/kubelet.kubeconfig" --root-dir "$STATE_DIR/kubelet" \
        --cert-dir "$STATE_DIR/kubelet/pki" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1
}

start_kube_proxy() {
    cat >"$STATE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $STATE_DIR/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
conntrack: {maxPerCore: 0}
EOF
    start kube-proxy "$K8S_BIN/kube-proxy" --config "$STATE_DIR/kube-proxy.yaml"
}

wait_node() {
    wait_for "node $NODE_NAME" 120 node_ready
    log "node Ready $(($(date +%s) - t0))s after start"
}

# CoreDNS and metrics-server: both manifests go in one kubectl apply, then each is waited for.
start_addons() {
    sed -e "s#@DNS_SVC_IP@#$DNS_SVC_IP#g" -e "s#@COREDNS_IMAGE@#$COREDNS_IMAGE#g" \
        scripts/cluster/addons/coredns.yaml >"$STATE_DIR/manifests/coredns.yaml"
    sed -e "s#@METRICS_SERVER_IMAGE@#$METRICS_SERVER_IMAGE#g" \
        scripts/cluster/addons/metrics-server.yaml >"$STATE_DIR/manifests/metrics-server.yaml"
    kc apply -f "$STATE_DIR/manifests/coredns.yaml" -f "$STATE_DIR/manifests/metrics-server.yaml" >/dev/null
}

wait_coredns() {
    kc -n kube-system rollout status deploy/coredns --timeout 180s >/dev/null
    log "CoreDNS $COREDNS_VERSION ready"
    wait_for "DNS (kubernetes.default.svc.cluster.local via $DNS_SVC_IP)" 60 dns_resolves
}

wait_metrics_server() {
    kc -n kube-system rollout status deploy/metrics-server --timeout 180s >/dev/null
    wait_for "metrics API (kubectl top pods -A)" 180 kc top pods -A
}

# kube-network-policies: NetworkPolicy enforced on the node, whatever the CNI. The first packet
# of each new connection goes to NFQUEUE $NETWORK_POLICIES_QUEUE and the agent answers accept or
# drop from the policies, pods and namespaces it watches. It knows only the in-cluster client
# configuration (KUBERNETES_SERVICE_*, a token and CA at fixed paths), so it gets what a pod
# gets: in a mount namespace of its own, a tmpfs over /run (hiding the host's) holds its
# ServiceAccount's files at /var/run/secrets/kubernetes.io/serviceaccount. Its NRI client finds
# no socket (containerd's NRI is off; v0.8.0 ignores --disable-nri): pod IPs come from the API.
# The 1766 workaround is for kernels before 6.12.
#
# The agent's own nftables table cannot load on this kernel: it has NFQUEUE as an x_tables
# target but no nft `queue` expression (the table's flush fails with "netlink receive: no such
# file or directory"). The chain below does the table's job with that target: every new
# connection that leaves through the bridge, except the node's root traffic (the kubelet's
# probes, as upstream's table lets through). All of them, not only those of pods under a policy
# (that set lived in the table): the agent accepts the rest. Fail-open, agent and rule alike:
# without the agent, or with its queue full, packets pass instead of the shared cluster going
# dark; the tests see enforcement itself, not the agent's presence.
start_network_policies() {
    local sa=$STATE_DIR/kube-network-policies/serviceaccount chain=$NETWORK_POLICIES_CHAIN
    kc apply -f scripts/cluster/addons/kube-network-policies.yaml >/dev/null
    service_account_files kube-network-policies "$sa"
    # shellcheck disable=SC2016  # $1 and $@ belong to the inner shell
    start kube-network-policies env KUBERNETES_SERVICE_HOST="$NODE_IP" \
        KUBERNETES_SERVICE_PORT="$APISERVER_PORT" \
        unshare --mount --propagation private -- sh -c '
            mount -t tmpfs -o mode=0755,size=1m tmpfs /run &&
            mkdir -p /run/secrets/kubernetes.io/serviceaccount &&
            mount -o bind,ro "$1" /run/secrets/kubernetes.io/serviceaccount &&
            shift && exec "$@"' sh "$sa" \
        "$NETWORK_POLICIES_BIN/kube-network-policies" --hostname-override "$NODE_NAME" \
        --disable-nri --fail-open --nfqueue-id "$NETWORK_POLICIES_QUEUE" \
        --metrics-bind-address "$NETWORK_POLICIES_METRICS" --netfilter-bug-1766-fix=false --v 1
    wait_for "kube-network-policies $NETWORK_POLICIES_VERSION (reading NFQUEUE $NETWORK_POLICIES_QUEUE)" \
        60 queue_bound "$NETWORK_POLICIES_QUEUE"
    iptables -t mangle -N "$chain" 2>/dev/null || iptables -t mangle -F "$chain"
    iptables -t mangle -A "$chain" -m owner --uid-owner 0 -j RETURN
    iptables -t mangle -A "$chain" -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
    iptables -t mangle -A "$chain" -o "$BRIDGE" -j NFQUEUE --queue-num "$NETWORK_POLICIES_QUEUE" \
        --queue-bypass
    iptables -t mangle -C POSTROUTING -j "$chain" 2>/dev/null ||
        iptables -t mangle -I POSTROUTING 1 -j "$chain"
}

# Prometheus: the chart's pods as its ServiceMonitor would have them scraped, the kubelet's
# resource metrics, and the rule files in $PROMETHEUS_RULES_DIR (addons/prometheus.yml).
# Root like the other host processes: kube-network-policies passes the node's root traffic (the
# kubelet's probes), so a release's NetworkPolicy does not stop the scrapes.
start_prometheus() {
    local sa=$PROMETHEUS_DIR/serviceaccount
    mkdir -p "$PROMETHEUS_DIR/data" "$PROMETHEUS_RULES_DIR"
    kc apply -f scripts/cluster/addons/prometheus.yaml >/dev/null
    service_account_files prometheus "$sa"
    sed -e "s#@API_SERVER@#$NODE_IP:$APISERVER_PORT#g" -e "s#@SA_DIR@#$sa#g" \
        -e "s#@RULES_DIR@#$PROMETHEUS_RULES_DIR#g" \
        scripts/cluster/addons/prometheus.yml >"$PROMETHEUS_DIR/prometheus.yml"
    start prometheus "$PROMETHEUS_BIN/prometheus" --config.file "$PROMETHEUS_DIR/prometheus.yml" \
        --storage.tsdb.path "$PROMETHEUS_DIR/data" --storage.tsdb.retention.time 1d \
        --web.listen-address "$PROMETHEUS_ADDRESS" --web.enable-lifecycle
    wait_for "Prometheus $PROMETHEUS_VERSION (http://$PROMETHEUS_ADDRESS)" 60 \
        curl -sf "http://$PROMETHEUS_ADDRESS/-/ready"
}

wait_image_imports() {
    ((${#imports[@]} == 0)) || wait "${imports[@]}"
    log "images: $("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null | grep -v '^sha256' | tr '\n' ' ')"
}

# --- main: the whole start, in order -----------------------------------------------------------
main() {
    case ${1:-} in
    -h | --help)
        usage
        return 0
        ;;
    --only)
        shift
        t0=$(date +%s)
        only "$@"
        return 0
        ;;
    esac
    t0=$(date +%s)
    check_prerequisites
    make_directories
    make_certificates
    start_bridge
    start_etcd
    start_apiserver
    start_controller_manager
    start_scheduler
    start_containerd
    start_image_imports
    start_kubelet
    start_kube_proxy
    wait_node
    start_addons
    wait_coredns
    wait_metrics_server
    start_network_policies
    start_prometheus
    wait_image_imports
    log "cluster up in $(($(date +%s) - t0))s; export KUBECONFIG=$KUBECONFIG_ADMIN"
}

main "$@"
