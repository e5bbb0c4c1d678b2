#!/usr/bin/env bash
# A kind cluster with a container registry on localhost:5000, as kind's "Local Registry" guide sets it up
# (https://kind.sigs.k8s.io/docs/user/local-registry/): the registry runs as a Docker container, the
# nodes' containerd pulls localhost:5000/… from it, and the kube-public/local-registry-hosting ConfigMap
# (KEP-1755) tells tools, the image controller among them, where to reach it from inside the cluster.
#
#   scripts/kind-with-registry.sh    needs docker, kind and kubectl; safe to run again
#
# KIND_CLUSTER_NAME (default kind) and REGISTRY_PORT (default 5000) change the names; KIND_NODE_IMAGE
# (default: kind's own) picks the nodes' Kubernetes version, e.g. a kindest/node:v1.33 image from the
# notes of your kind release (the version the tests run).
set -euo pipefail

cluster=${KIND_CLUSTER_NAME:-kind}
registry_name=kind-registry
registry_port=${REGISTRY_PORT:-5000}

# 1. The registry container, published on loopback only.
if [[ "$(docker inspect -f '{{.State.Running}}' "$registry_name" 2>/dev/null || true)" != 'true' ]]; then
  docker run -d --restart=always -p "127.0.0.1:$registry_port:5000" --network bridge --name "$registry_name" registry:2
fi

# 2. The cluster, with containerd reading per-registry config from /etc/containerd/certs.d.
if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --config=- <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
YAML
fi

# 3. On every node, localhost:<port> means the registry container.
registry_dir="/etc/containerd/certs.d/localhost:$registry_port"
for node in $(kind get nodes --name "$cluster"); do
  docker exec "$node" mkdir -p "$registry_dir"
  echo "[host.\"http://$registry_name:5000\"]" | docker exec -i "$node" cp /dev/stdin "$registry_dir/hosts.toml"
done

# 4. The registry joins the cluster's network, so pods reach it as kind-registry:5000.
if [[ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$registry_name")" == 'null' ]]; then
  docker network connect kind "$registry_name"
fi

# 5. KEP-1755: how the registry is named (host) and how a pod reaches it (hostFromClusterNetwork).
kubectl --context "kind-$cluster" apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:$registry_port"
    hostFromClusterNetwork: "$registry_name:5000"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML

echo "kind cluster \"$cluster\" is up; its registry is localhost:$registry_port (try: curl localhost:$registry_port/v2/)"
