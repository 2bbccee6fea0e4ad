# shellcheck shell=bash
# shellcheck disable=SC2034  # sourced: the variables are used by the scripts that source it
# Pinned versions of the local test cluster (sourced by scripts/cluster/*.sh and
# scripts/images/locust.sh).
# Why these: see README "Local cluster (test fixture)".
#   Kubernetes 1.37.2: newest release on the module proxy; its kubelet still starts on cgroup v1
#     when its configuration sets failCgroupV1: false (the v1beta1 default is true since 1.35).
#   containerd 2.4.2: containerd's RELEASES.md lists 2.3.0+/2.4.0+ for Kubernetes 1.37
#     (Debian's docker.io ships 1.6.20); cgroup v1 is deprecated in containerd 2.2 but still works.
#   runc 1.5.2: the runc containerd 2.4.2 tests against (script/setup/runc-version).
#   etcd 3.7.3: Kubernetes 1.37 ships etcd 3.7.0 (build/dependencies.yaml); latest 3.7 patch.
#   CoreDNS 1.14.6: the version in Kubernetes 1.37's build/dependencies.yaml.
#   metrics-server 0.9.0: the only release on the module proxy built against client-go 0.36.
#   pause 3.10.2: build/pause/Makefile TAG of Kubernetes 1.37.2.
#   kube-network-policies 0.8.0: kind's NetworkPolicy agent (nftables + NFQUEUE, no CNI of its
#     own, so it enforces on the bridge CNI); the newest release on the module proxy.
#   Prometheus v0.316.0 (= 3.16.0; the module tags 3.x as v0.3MM.P): newest on the module proxy,
#     the same pin as scripts/tools/promtool.sh's, so the rules the chart tests check with
#     promtool are the ones this server evaluates.
K8S_VERSION=${K8S_VERSION:-v1.37.2}
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.4.2}
RUNC_VERSION=${RUNC_VERSION:-v1.5.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.6}
METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.9.0}
PAUSE_VERSION=${PAUSE_VERSION:-3.10.2}
NETWORK_POLICIES_VERSION=${NETWORK_POLICIES_VERSION:-v0.8.0}
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}

CLUSTER_CACHE=${CELSIUSIFY_CLUSTER_CACHE:-/var/cache/celsiusify-cluster}
# Where each pinned set of binaries lives once built.
K8S_BIN=$CLUSTER_CACHE/kubernetes-$K8S_VERSION/bin
CONTAINERD_BIN=$CLUSTER_CACHE/containerd-$CONTAINERD_VERSION/bin
RUNC_BIN=$CLUSTER_CACHE/runc-$RUNC_VERSION/bin
ETCD_BIN=$CLUSTER_CACHE/etcd-$ETCD_VERSION/bin
COREDNS_BIN=$CLUSTER_CACHE/coredns-$COREDNS_VERSION/bin
METRICS_SERVER_BIN=$CLUSTER_CACHE/metrics-server-$METRICS_SERVER_VERSION/bin
PAUSE_BIN=$CLUSTER_CACHE/pause-$PAUSE_VERSION/bin
NETWORK_POLICIES_BIN=$CLUSTER_CACHE/kube-network-policies-$NETWORK_POLICIES_VERSION/bin
PROMETHEUS_BIN=$CLUSTER_CACHE/prometheus-$PROMETHEUS_VERSION/bin
IMAGES_DIR=$CLUSTER_CACHE/images

PAUSE_IMAGE=registry.k8s.io/pause:$PAUSE_VERSION
COREDNS_IMAGE=registry.k8s.io/coredns/coredns:$COREDNS_VERSION
METRICS_SERVER_IMAGE=registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION
