# shellcheck shell=bash
# shellcheck disable=SC2034  # sourced: the variables are used by the scripts that source it
# Layout and addresses of the local test cluster (sourced by scripts/cluster/*.sh and
# scripts/images/locust.sh).
# Pods and the node address live on the cluster's own bridge; everything else is loopback.
STATE_DIR=${CELSIUSIFY_CLUSTER_STATE:-/var/lib/celsiusify-cluster}
RUN_DIR=${CELSIUSIFY_CLUSTER_RUN:-/run/celsiusify-cluster}
CONTAINERD_SOCK=$RUN_DIR/containerd.sock
KUBECONFIG_ADMIN=$STATE_DIR/admin.kubeconfig
CNI_BIN_DIR=${CNI_BIN_DIR:-/usr/lib/cni}
BRIDGE=celsius0
NODE_NAME=celsiusify-local
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
DNS_SVC_IP=10.96.0.10
APISERVER_PORT=6443
# Comment on the iptables rule that keeps pods from reaching past the bridge.
EGRESS_COMMENT=celsiusify-local-no-egress
ETCD_PORT=2379
ETCD_PEER_PORT=2380
# kube-network-policies: the NFQUEUE it gives verdicts on, the iptables chain (table mangle)
# that sends it the first packet of each connection to a pod, and its metrics, on loopback.
NETWORK_POLICIES_QUEUE=100
NETWORK_POLICIES_CHAIN=CELSIUSIFY-NETPOL
NETWORK_POLICIES_METRICS=127.0.0.1:9080
# Prometheus: web UI and API on loopback only; rule files are read from PROMETHEUS_RULES_DIR
# (*.yaml) at start and on POST /-/reload.
PROMETHEUS_ADDRESS=127.0.0.1:9090
PROMETHEUS_DIR=$STATE_DIR/prometheus
PROMETHEUS_RULES_DIR=$PROMETHEUS_DIR/rules
