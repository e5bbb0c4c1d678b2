#!/usr/bin/env bash
# A kind cluster with a container registry on localhost:5000, as kind's "Local Registry" guide sets it up
# (https://kind.sigs.k8s.io/docs/user/local-registry/): the registry runs as a Docker container, the
# nodes' containerd pulls localhost:5000/… from it, and the kube-public/local-registry-hosting ConfigMap
# (KEP-1755) tells tools, the image controller among them, where to reach it from inside the cluster.
#
#   scripts/kind-with-registry.sh                  the cluster and its registry; safe to run again
#   scripts/kind-with-registry.sh --notifications  after `kubectl apply -f dist/`: the registry also tells
#                                                  the image controller of every push (its Service's node
#                                                  port, with a token kept in the controller's Secret)
#
# Needs docker, kind, kubectl and node. The registry's address is the one dist/ names for the controller's
# image (scripts/dist-controller-image.mjs), as for `npm run image`: to move it (on macOS, where AirPlay
# Receiver holds port 5000), give addSeedCharts a `registry` in main.ts and run `npx cdk8s synth` first.
# KIND_CLUSTER_NAME (default kind) names the cluster;
# KIND_NODE_IMAGE (default: kind's own) picks the nodes' Kubernetes version, e.g. a kindest/node:v1.33
# image from the notes of your kind release (the version the tests run).
set -euo pipefail

cluster=${KIND_CLUSTER_NAME:-kind}
controller_image=$(node "$(dirname "${BASH_SOURCE[0]}")/dist-controller-image.mjs")
registry=${controller_image%%/*}
registry_name=kind-registry
# The controller's Namespace, Deployment, Service and notification Secret, as dist/ names them.
controller_namespace=image-controller-system
controller=image-controller
notification_secret=image-controller-notifications

notifications=false
case ${1:-} in
  '') ;;
  --notifications) notifications=true ;;
  *) echo "usage: $0 [--notifications]" >&2; exit 2 ;;
esac
if [[ ! $registry =~ ^localhost:([0-9]+)$ ]]; then
  echo "dist/ runs the controller from $registry, but kind's local registry is localhost:<port>: set addSeedCharts' registry in main.ts (e.g. 'localhost:5001') and run \`npx cdk8s synth\`" >&2
  exit 2
fi
registry_port=${BASH_REMATCH[1]}

# The registry's configuration: registry:2's own, plus, with --notifications, an endpoint for the controller.
registry_config() {
  cat <<YAML
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
  if [[ $notifications == true ]]; then
    cat <<YAML
notifications:
  endpoints:
    - name: image-controller
      # The controller's Service on the control-plane node, which the registry reaches on kind's network.
      url: http://$cluster-control-plane:$1/notifications
      headers:
        Authorization: [Bearer $2]
      timeout: 2s
      threshold: 5
      backoff: 1s
      # Only pushes matter. (distribution 2.8 honours ignore.actions only with a non-empty ignore.mediatypes.)
      ignore:
        mediatypes: [application/octet-stream]
        actions: [pull]
YAML
  fi
}

# (Re)creates the registry container with the configuration; images live in the volume and stay.
start_registry() {
  local config
  config=$(mktemp)
  registry_config "$@" >"$config"
  docker rm -f "$registry_name" >/dev/null 2>&1 || true
  docker create --restart=always -p "127.0.0.1:$registry_port:5000" --network bridge --name "$registry_name" \
    -v kind-registry:/var/lib/registry registry:2 >/dev/null
  docker cp "$config" "$registry_name:/etc/docker/registry/config.yml"
  rm -f "$config"
  docker start "$registry_name" >/dev/null
}

if [[ $notifications == true ]]; then
  node_port=$(kubectl --context "kind-$cluster" get service "$controller" -n "$controller_namespace" \
    -o jsonpath='{.spec.ports[?(@.name=="http")].nodePort}' 2>/dev/null || true)
  if [[ -z $node_port ]]; then
    echo "the $controller_namespace/$controller Service has no node port yet: run \`kubectl apply -f dist/\` first" >&2
    exit 1
  fi
  # The token the registry sends and the controller expects; made once, then read back from the Secret.
  token=$(kubectl --context "kind-$cluster" get secret "$notification_secret" -n "$controller_namespace" \
    -o jsonpath='{.data.token}' 2>/dev/null | base64 -d || true)
  if [[ -z $token ]]; then
    token=$(openssl rand -hex 24)
    kubectl --context "kind-$cluster" create secret generic "$notification_secret" -n "$controller_namespace" \
      --from-literal=token="$token" >/dev/null
  fi
  start_registry "$node_port" "$token"
  docker network connect kind "$registry_name"
  # The controller reads the token when it starts.
  kubectl --context "kind-$cluster" rollout restart deployment "$controller" -n "$controller_namespace" >/dev/null
  echo "the registry at $registry now notifies the image controller of each push (http://$cluster-control-plane:$node_port/notifications)"
  exit 0
fi

# 1. The registry container, published on loopback only.
if [[ "$(docker inspect -f '{{.State.Running}}' "$registry_name" 2>/dev/null || true)" != 'true' ]]; then
  start_registry
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
registry_dir="/etc/containerd/certs.d/$registry"
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
    host: "$registry"
    hostFromClusterNetwork: "$registry_name:5000"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML

echo "kind cluster \"$cluster\" is up; its registry is $registry (try: curl $registry/v2/)"
