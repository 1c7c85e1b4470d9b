#!/usr/bin/env bash
# Builds svr and its tests with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DSVR_SANITIZE=address,undefined) in BUILD_DIR (default build-sanitize/) and runs the unit
# tests and the MPI and end-to-end tests at 1 and 2 ranks there. Any sanitizer report fails the
# test it happens in. Open MPI's own allocations that live as long as the process are suppressed
# (tests/sanitizers/lsan.supp); svr's are not.
#
# Usage: scripts/sanitize-tests.sh [BUILD_DIR] [extra ctest arguments]
# The dependencies must be installed (scripts/install-deps.sh --tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-$root/build-sanitize}"
shift || true

cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSVR_SANITIZE=address,undefined >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

# detect_leaks at exit, with MPI's suppressed; UBSan stops at the first finding with a stack.
# The slow unwinder: MPI's plug-ins have no frame pointers, and only a full stack reaches the
# MPI library that the suppressions name.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:fast_unwind_on_malloc=0:malloc_context_size=30"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The sanitizers make everything slower: the tests' time limits scale (tests/e2e/test_timing.py).
export SVR_TEST_TIME_SCALE="${SVR_TEST_TIME_SCALE:-4}"

cd "$build_dir"
# Unit tests, then every MPI and end-to-end test at 1 or 2 ranks (np3/np4/np6 only repeat them
# with more ranks, at the sanitizers' cost).
ctest --output-on-failure -j"$(nproc)" -L unit "$@"
ctest --output-on-failure -j"$(nproc)" -LE unit -E 'np[3-9]|torchvision_random|slurm|topology\.export' "$@"
