#!/usr/bin/env bash
# The test suites run real things: Debian's docker-registry and skopeo, openssl for test PKI,
# htpasswd for basic auth, and Go to build the control-plane binaries; the e2e node runs Debian's
# containerd, runc and CNI plugins in a network namespace (iproute2, util-linux's nsenter, iptables for
# kube-proxy), gcc and the static libc build its pause binary, and busybox-static is the app its Pods
# run. The controller image is built from controller/Dockerfile with podman (buildah underneath) over base
# images mmdebstrap makes; the node walkthrough runs the README's curl. Install the Debian packages when
# they are missing and we may (root with apt-get); otherwise say exactly what to install.
set -euo pipefail

# A command, or an absolute path for what is not a command, and the package that brings it.
declare -A package_of=(
  [docker-registry]=docker-registry [skopeo]=skopeo [openssl]=openssl [htpasswd]=apache2-utils
  [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins
  [ip]=iproute2 [nsenter]=util-linux [iptables]=iptables
  [gcc]=gcc [/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev [/bin/busybox]=busybox-static
  [buildah]=buildah [podman]=podman [mmdebstrap]=mmdebstrap [curl]=curl
)
missing=()
for command in "${!package_of[@]}"; do
  if [[ $command == /* ]]; then
    [[ -e $command ]] || missing+=("${package_of[$command]}")
  else
    command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing test prerequisites: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "MissingPrerequisites: install ${missing[*]} (e.g. sudo apt-get install -y ${missing[*]}) and run the tests again" >&2
    exit 1
  fi
fi

# shellcheck source=go-command.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-command.sh"
if ! go_command >/dev/null; then
  echo "MissingPrerequisites: Go >= 1.24 is needed to build the end-to-end binaries (kube-apiserver, etcd, cartographer); install it and run the tests again" >&2
  exit 1
fi
