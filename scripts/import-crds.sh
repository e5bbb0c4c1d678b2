#!/usr/bin/env bash
# Regenerates imports/carto.run.ts (`cdk8s import`) from the CRDs of the Cartographer version pinned in
# test/e2e/tools/versions.env, so the typed classes the charts use match the Cartographer the e2e tests run.
#
#   scripts/import-crds.sh                from Cartographer's Go module (offline once it is in the module
#                                         cache; its hash is checked against test/e2e/tools/cartographer/go.sum)
#   scripts/import-crds.sh --from-github  from the tag's config/crd/bases on GitHub, for a machine without Go
#
# `cdk8s import` writes one file per import spec and Cartographer ships one file per CRD, so the CRDs are
# concatenated into .cache/cartographer-crds.yaml, the one import cdk8s.yaml lists.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../test/e2e/tools/versions.env
source "$repo/test/e2e/tools/versions.env"

# The kinds the charts use; add one here to get its class in imports/carto.run.ts.
crds=(clusterconfigtemplates clusterimagetemplates clustersupplychains clustertemplates workloads)
staged="$repo/.cache/cartographer-crds.yaml"

log() { echo "import-crds: $*" >&2; }

# shellcheck source=go-command.sh
source "$repo/scripts/go-command.sh"

from_go_module() {
  local go dir
  go=$(go_command)
  dir=$(cd "$repo/test/e2e/tools/cartographer" &&
    GOTOOLCHAIN=local "$go" mod download -json github.com/vmware-tanzu/cartographer |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).Dir)')
  log "Cartographer $CARTOGRAPHER_VERSION CRDs from $dir/config/crd/bases"
  for crd in "${crds[@]}"; do
    cat "$dir/config/crd/bases/carto.run_$crd.yaml"
  done
}

from_github() {
  local base="https://raw.githubusercontent.com/vmware-tanzu/cartographer/$CARTOGRAPHER_VERSION/config/crd/bases"
  log "Cartographer $CARTOGRAPHER_VERSION CRDs from $base"
  for crd in "${crds[@]}"; do
    curl -fsSL "$base/carto.run_$crd.yaml"
  done
}

mkdir -p "$(dirname "$staged")"
if [[ "${1:-}" == "--from-github" ]] || [[ -z "$(go_command)" ]]; then
  from_github >"$staged.tmp"
else
  from_go_module >"$staged.tmp"
fi
mv "$staged.tmp" "$staged"

cd "$repo"
npx cdk8s import --no-check-upgrade
