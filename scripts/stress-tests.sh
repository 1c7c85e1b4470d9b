#!/usr/bin/env bash
# Runs the whole test suite N times in a row while two busy processes (`yes > /dev/null`) load
# the machine, and prints how many runs passed: the check that the suite does not fail at random
# on a cluster login node or a shared CI runner (docs/errors.md, "A suite that passes on a
# loaded machine").
#
# Usage: scripts/stress-tests.sh N [extra ctest arguments]
#   N        how many full runs (the issue asks for 10)
#   Builds first (scripts/build.sh build); the dependencies must be installed
#   (scripts/install-deps.sh --tests). Each run's ctest log is kept in build/stress/run-K.log.
#   SVR_TEST_TIME_SCALE is passed through unchanged: the runs use the suite's own limits unless
#   you say otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/stress-tests.sh N [extra ctest arguments]  (N >= 1 full runs)" >&2
  exit 2
fi
shift

"$root/scripts/build.sh" "$root/build" >/dev/null
mkdir -p "$root/build/stress"

loaders=()
stop_loaders() {
  for pid in "${loaders[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_loaders EXIT INT TERM
for _ in 1 2; do
  yes >/dev/null &
  loaders+=("$!")
done

passed=0
cd "$root/build"
for ((k = 1; k <= runs; ++k)); do
  log="$root/build/stress/run-$k.log"
  start=$(date +%s)
  if ctest --output-on-failure -j"$(nproc)" "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    verdict="passed"
  else
    # The failed tests only (ctest also lists skipped ones, before).
    verdict="FAILED: $(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ' |
      sed 's/^\s*//' | tr '\n' ';')"
  fi
  echo "run $k/$runs: $verdict ($(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg))"
done
echo "stress-tests: $passed of $runs runs passed with 2 busy processes on $(nproc) cores"
[ "$passed" -eq "$runs" ]
