#!/usr/bin/env bash
# Builds the binaries the e2e control plane runs (etcd, kube-apiserver, kube-controller-manager,
# kubectl, cartographer, ytt) and its node runs (kubelet, kube-scheduler, kube-proxy, and the pause
# binary of the sandbox image), and cosign (which the signature tests sign with and compare against),
# from the Go tool modules in test/e2e/tools into one asset directory
# (envtest's KUBEBUILDER_ASSETS layout), reusing whatever is already there.
#
#   scripts/e2e-setup.sh              build what is missing; last line: E2E_ASSETS=<dir>
#   scripts/e2e-setup.sh --print-dir  print the asset directory and exit (the TS harness uses this)
#   scripts/e2e-setup.sh --with-flux  also build Flux's image-reflector-controller, the peer that
#                                     `npm run bench` compares with (npm test and CI never need it)
#
# E2E_ASSETS_DIR overrides the directory. A binary already in KUBEBUILDER_ASSETS is used instead of
# building it. The default directory is outside the repo, keyed by the pinned versions, so every
# clone on a machine shares one build (a cold one takes 10-25 minutes on 2 cores).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$repo/test/e2e/tools"
# shellcheck source=../test/e2e/tools/versions.env
source "$tools/versions.env"
# shellcheck source=go-command.sh
source "$repo/scripts/go-command.sh"

version_key="k8s-$KUBERNETES_VERSION.etcd-$ETCD_VERSION.cartographer-$CARTOGRAPHER_VERSION.ytt-$YTT_VERSION"
assets="${E2E_ASSETS_DIR:-$HOME/.cache/simple-supply-chain/assets/$version_key}"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$assets"
  exit 0
fi
with_flux=false
if [[ "${1:-}" == "--with-flux" ]]; then
  with_flux=true
elif [[ -n "${1:-}" ]]; then
  echo "usage: $0 [--print-dir | --with-flux]" >&2
  exit 2
fi

log() { echo "e2e-setup: $*" >&2; }

require_debian_commands() {
  local missing=() cmd
  for cmd in docker-registry skopeo openssl htpasswd gcc; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  if ((${#missing[@]})); then
    log "missing ${missing[*]}: run scripts/ensure-test-deps.sh as root (or apt-get install the packages it names)"
    exit 1
  fi
}

go_tool() {
  local go
  go=$(go_command) || { log "no Go toolchain on PATH or at /usr/local/go/bin/go"; exit 1; }
  GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" "$@"
}

# A go.mod that drifts from versions.env would build one version and report another.
check_pin() {
  local module_dir=$1 module=$2 want=$3 got
  got=$(cd "$tools/$module_dir" && go_tool list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$module")
  if [[ "$got" != "$want" ]]; then
    log "$tools/$module_dir/go.mod requires $module $got but versions.env says $want"
    exit 1
  fi
}

# build NAME MODULE_DIR PACKAGE [LDFLAGS]: go build inside the tool module, then move the binary
# into place so an interrupted build never leaves a half-written one behind.
build() {
  local name=$1 module_dir=$2 package=$3 ldflags=${4:-} started
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$name" ]]; then
    log "$name: using $KUBEBUILDER_ASSETS/$name"
    return
  fi
  if [[ -x "$assets/$name" ]]; then
    log "$name: cached"
    return
  fi
  log "$name: building $package"
  started=$EPOCHREALTIME
  (cd "$tools/$module_dir" && go_tool build -trimpath -ldflags "-s -w $ldflags" -o "$assets/.$name.tmp" "$package")
  mv "$assets/.$name.tmp" "$assets/$name"
  log "$name: built in $(elapsed_since "$started")"
}

# The sandbox ("pause") container's binary from the Kubernetes module's own source, built the way its
# build/pause/Makefile does (static, so the one-layer image needs no libc); registry.k8s.io can't be
# reached here, so the node's sandbox image is made from it (test/support/node.ts).
build_pause() {
  local source started
  if [[ -x "$assets/pause" ]]; then
    log "pause: cached"
    return
  fi
  # The module is in the cache once kube-apiserver has been built; download makes sure and says where.
  source=$(cd "$tools/kubernetes" && go_tool mod download -json k8s.io/kubernetes | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c
  log "pause: compiling $source"
  started=$EPOCHREALTIME
  gcc -Os -Wall -Werror -static -DVERSION="$PAUSE_VERSION" -o "$assets/.pause.tmp" "$source"
  mv "$assets/.pause.tmp" "$assets/pause"
  log "pause: built in $(elapsed_since "$started")"
}

elapsed_since() {
  awk -v from="$1" -v to="$EPOCHREALTIME" 'BEGIN { printf "%.0fs", to - from }'
}

binary() {
  local name=$1
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$name" ]]; then
    echo "$KUBEBUILDER_ASSETS/$name"
  else
    echo "$assets/$name"
  fi
}

print_versions() {
  log "kube-apiserver: $("$(binary kube-apiserver)" --version)"
  log "kube-controller-manager: $("$(binary kube-controller-manager)" --version)"
  log "kube-scheduler: $("$(binary kube-scheduler)" --version)"
  log "kubelet: $("$(binary kubelet)" --version)"
  log "kube-proxy: $("$(binary kube-proxy)" --version)"
  log "pause: $("$(binary pause)" -v)"
  log "kubectl: $("$(binary kubectl)" version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | head -1)"
  log "etcd: $("$(binary etcd)" --version | head -1)"
  log "cartographer: $CARTOGRAPHER_VERSION (pinned module version; the binary has no version flag)"
  log "ytt: $("$(binary ytt)" version | head -1)"
  log "cosign: $("$(binary "cosign-$COSIGN_VERSION")" version 2>&1 | sed -n 's/^GitVersion: *//p')"
}

# The bench's peer. Its binary's name carries the version, so a new pin builds anew without changing
# the directory every other binary is cached in; the bench takes its CRDs from the module download.
build_flux() {
  check_pin flux github.com/fluxcd/image-reflector-controller "$FLUX_IMAGE_REFLECTOR_VERSION"
  build "image-reflector-controller-$FLUX_IMAGE_REFLECTOR_VERSION" flux github.com/fluxcd/image-reflector-controller
}

main() {
  require_debian_commands
  mkdir -p "$assets"
  # Two clones setting up at once share the directory: let one build and the other reuse.
  exec 9>"$assets/.lock"
  flock 9

  local started=$EPOCHREALTIME k8s_minor=${KUBERNETES_VERSION#v1.}
  k8s_minor=${k8s_minor%%.*}
  local k8s_ldflags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
  done

  check_pin kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION"
  check_pin kubernetes k8s.io/api "$KUBERNETES_STAGING_VERSION"
  check_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  check_pin cartographer github.com/vmware-tanzu/cartographer "$CARTOGRAPHER_VERSION"
  check_pin ytt carvel.dev/ytt "$YTT_VERSION"
  check_pin cosign github.com/sigstore/cosign/v3 "$COSIGN_VERSION"

  build etcd etcd go.etcd.io/etcd/server/v3
  build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
  build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
  build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
  build kube-scheduler kubernetes k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"
  build kubelet kubernetes k8s.io/kubernetes/cmd/kubelet "$k8s_ldflags"
  build kube-proxy kubernetes k8s.io/kubernetes/cmd/kube-proxy "$k8s_ldflags"
  build_pause
  build cartographer cartographer github.com/vmware-tanzu/cartographer/cmd/cartographer
  build ytt ytt carvel.dev/ytt/cmd/ytt "-X carvel.dev/ytt/pkg/version.Version=${YTT_VERSION#v}"
  # Its name carries the version, so a new pin builds anew in the directory the others are cached in.
  build "cosign-$COSIGN_VERSION" cosign github.com/sigstore/cosign/v3/cmd/cosign "-X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION"
  if $with_flux; then build_flux; fi
  log "setup took $(elapsed_since "$started")"

  print_versions
  echo "E2E_ASSETS=$assets"
}

main
