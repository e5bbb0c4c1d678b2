#!/usr/bin/env bash
# The README's full test command (`npm test`): type checks, then every suite from the cheapest to the
# most expensive, each against the real thing it tests. Every suite runs even when an earlier one
# failed, so one run shows everything that is broken; the last line adds them all up.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-test-deps.sh || exit 1
# The control-plane binaries (and ytt, which the chart tests also run) are built once and cached, and so
# are the base images controller/Dockerfile builds FROM (the node tests build and run that image).
bash scripts/e2e-setup.sh || exit 1
bash scripts/node-base-images.sh || exit 1
npm run --silent typecheck || exit 1
npm run --silent build || exit 1

reports=.cache/test-reports
rm -rf "$reports" && mkdir -p "$reports"
status=0
run_suite() {
  local project=$1
  shift
  echo "=== $project tests"
  npx vitest run --project "$project" --reporter=default --reporter=json --outputFile.json="$reports/$project.json" "$@" || status=1
}

run_suite unit
run_suite integration
run_suite e2e
# Its own reporter prints the closing line: faults survived X/Y; bad inputs A/B; hostile registries H/I; leaks N.
run_suite resilience --reporter=./test/resilience/summary-reporter.ts

node scripts/test-summary.mjs "$reports"/{unit,integration,e2e,resilience}.json || status=1
exit $status
