#!/usr/bin/env bash
# Fuzzes svr's readers with libFuzzer (tests/fuzz/harnesses.hpp; docs/errors.md "Fuzzing").
# Builds the harnesses with clang, ASan and UBSan in BUILD_DIR (default build-fuzz/), seeds each
# from tests/data (tests/fuzz/make_seed_corpus.py) and from its regression inputs
# (tests/data/fuzz/NAME/), and runs them, as many at once as there are cores.
#
# Usage: scripts/fuzz.sh HOURS [HARNESS...]          a campaign of HOURS of wall time in all
#        scripts/fuzz.sh --seconds-each S [HARNESS...]  each harness for S seconds (CI: 20)
#   HARNESS: a harness tests/fuzz/CMakeLists.txt builds (safetensors_header, sharded_index,
#            zip_reader, pickle_machine, strict_json, topology_file, onnx_model); default: all
#   BUILD_DIR=... to build elsewhere (a tree already configured with -DSVR_FUZZ=ON, such as
#   scripts/sanitize-tests.sh's, is used as it is); FUZZ_JOBS=... harnesses at once (default: nproc).
#
# The corpus each harness grows is kept in BUILD_DIR/corpus/NAME, so campaigns build on each
# other. The table of executions and coverage is printed and written to BUILD_DIR/fuzz-report.md.
# A crash, sanitizer report, broken invariant, hang (10 s) or memory blow-up (2 GB) is saved in
# BUILD_DIR/findings/NAME/ and makes the script fail: fix it, then copy the input into
# tests/data/fuzz/NAME/, where unit_fuzz replays it in every build from then on.
# The dependencies must be installed (scripts/install-deps.sh --fuzz).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build-fuzz}"

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
(( $# >= 1 )) || usage
seconds_each=""
if [[ $1 == --seconds-each ]]; then
  (( $# >= 2 )) || usage
  seconds_each="$2"
  shift 2
else
  hours="$1"
  shift
fi
if [[ -n $seconds_each ]] && ! { [[ $seconds_each =~ ^[0-9]+$ ]] && (( seconds_each > 0 )); }; then
  echo "fuzz.sh: seconds must be a positive integer, got '$seconds_each'" >&2
  exit 2
fi

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/install-deps.sh --fuzz)" >&2; exit 2; }
# A tree configured with SVR_FUZZ=ON is kept as it is: the sanitizer build of
# scripts/sanitize-tests.sh makes the harnesses too, so CI fuzzes with BUILD_DIR=build-sanitize
# and builds nothing more.
if ! grep -qs '^SVR_FUZZ:BOOL=ON$' "$build_dir/CMakeCache.txt"; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSVR_FUZZ=ON -DSVR_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build_dir" --target fuzzers -j"$(nproc)" >/dev/null
/usr/bin/env python3 "$root/tests/fuzz/make_seed_corpus.py" "$root" "$build_dir/seeds" >/dev/null

# The harnesses are the fuzz_NAME binaries the build made.
all=()
for binary in "$build_dir"/tests/fuzz/fuzz_*; do all+=("${binary##*/fuzz_}"); done
harnesses=("$@")
(( ${#harnesses[@]} > 0 )) || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  [[ " ${all[*]} " == *" $h "* ]] || { echo "fuzz.sh: unknown harness '$h' (known: ${all[*]})" >&2; exit 2; }
done
jobs="${FUZZ_JOBS:-$(nproc)}"
if [[ -z $seconds_each ]]; then
  # HOURS of wall time: the harnesses run `jobs` at a time, in ceil(n / jobs) rounds.
  rounds=$(( (${#harnesses[@]} + jobs - 1) / jobs ))
  seconds_each=$(awk -v h="$hours" -v r="$rounds" 'BEGIN { s = int(h * 3600 / r); print (s > 0 ? s : 0) }')
  (( seconds_each > 0 )) || { echo "fuzz.sh: HOURS must be a positive number, got '$hours'" >&2; exit 2; }
fi

# The harnesses write each input to a file: in memory when /dev/shm is there.
if [[ -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logs="$build_dir/logs"
mkdir -p "$logs"
echo "fuzz.sh: ${#harnesses[@]} harnesses, ${seconds_each} s each, $jobs at a time"

run_one() {
  local h="$1"
  mkdir -p "$build_dir/corpus/$h" "$build_dir/findings/$h"
  local seeds=("$build_dir/seeds/$h")
  [[ -d $root/tests/data/fuzz/$h ]] && seeds+=("$root/tests/data/fuzz/$h")
  # One process, one thread: the jobs share the cores. A timeout well above the slowest input
  # (milliseconds) catches hangs; the RSS limit catches allocations that escape the readers'
  # bounds.
  "$build_dir/tests/fuzz/fuzz_$h" -max_total_time="$seconds_each" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build_dir/findings/$h/" \
    "$build_dir/corpus/$h" "${seeds[@]}" >"$logs/$h.log" 2>&1
}

pids=()
names=()
status=0
for h in "${harnesses[@]}"; do
  while (( ${#pids[@]} >= jobs )); do
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  done
  run_one "$h" &
  pids+=($!)
  names+=("$h")
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

# The table: from libFuzzer's final statistics and its last status line (cov: edges, ft:
# features, corp: inputs/size).
report="$build_dir/fuzz-report.md"
{
  echo "| harness | seconds | executions | exec/s | edges (cov) | features (ft) | corpus | findings |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for h in "${harnesses[@]}"; do
    log="$logs/$h.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    found=$(find "$build_dir/findings/$h" -type f | wc -l)
    echo "| $h | $seconds_each | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $found |"
  done
} | tee "$report"

findings=$(find "$build_dir/findings" -type f | sort)
if [[ -n $findings ]]; then
  echo "fuzz.sh: findings (logs in $logs):" >&2
  echo "$findings" | sed 's/^/  /' >&2
  status=1
fi
if (( status != 0 )); then
  for h in "${harnesses[@]}"; do
    grep -qE 'ERROR: |SUMMARY: |terminate called' "$logs/$h.log" && grep -E -m3 'ERROR: |SUMMARY: |what\(\)' "$logs/$h.log" | sed "s/^/  $h: /" >&2
  done
  echo "fuzz.sh: FAILED" >&2
  exit 1
fi
echo "fuzz.sh: no finding"
