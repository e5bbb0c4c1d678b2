#!/usr/bin/env bash
# The test suites run real things: Debian's docker-registry and skopeo, openssl for test PKI,
# htpasswd for basic auth, and Go to build the control-plane binaries. Install the Debian packages
# when they are missing and we may (root with apt-get); otherwise say exactly what to install.
set -euo pipefail

declare -A package_of=([docker-registry]=docker-registry [skopeo]=skopeo [openssl]=openssl [htpasswd]=apache2-utils)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
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

if ! command -v go >/dev/null 2>&1; then
  echo "MissingPrerequisites: Go >= 1.24 is needed to build the end-to-end binaries (kube-apiserver, etcd, cartographer); install it and run the tests again" >&2
  exit 1
fi
