#!/usr/bin/env bash
# Installs the dependencies, builds svr with its tests and runs the whole suite with ctest
# (unit tests, MPI tests at 1-4 ranks, end-to-end tests against the NumPy oracle).
# Usage: scripts/run-tests.sh [extra ctest arguments]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/scripts/install-deps.sh" --tests
"$root/scripts/build.sh" "$root/build"

cd "$root/build"
ctest --output-on-failure -j"$(nproc)" "$@"
