#!/usr/bin/env bash
# Builds svr and its tests with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DSVR_SANITIZE=address,undefined) in BUILD_DIR (default build-sanitize/) and runs the unit
# tests and the MPI and end-to-end tests at 1 and 2 ranks there. Any sanitizer report fails the
# test it happens in. Open MPI's own allocations that live as long as the process are suppressed
# (tests/sanitizers/lsan.supp); svr's are not.
#
# Usage: scripts/sanitize-tests.sh [BUILD_DIR] [extra ctest arguments]
# The dependencies must be installed (scripts/install-deps.sh --tests, and --fuzz for clang).
# clang is used when present: at -O1 with line tables only it builds everything in 8 minutes on
# the 2-core reference machine, where GCC at -O2 -g took over 15.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-$root/build-sanitize}"
shift || true

compilers=()
fuzz=()
if command -v clang++ >/dev/null; then
  compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
  # With libFuzzer there too, the same tree holds the fuzz harnesses (scripts/fuzz.sh runs them
  # with BUILD_DIR pointing here): one sanitizer build instead of two.
  probe="$(mktemp -d)"
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
    >"$probe/probe.cpp"
  if clang++ -fsanitize=fuzzer "$probe/probe.cpp" -o "$probe/probe" 2>/dev/null; then fuzz=(-DSVR_FUZZ=ON); fi
  rm -rf "$probe"
fi
# -O1: the sanitizers' usual level (fast to build, stacks that follow the source).
cmake -S "$root" -B "$build_dir" "${compilers[@]}" "${fuzz[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE=-O1 -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
  -DSVR_SANITIZE=address,undefined >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

# detect_leaks at exit, with MPI's suppressed; UBSan stops at the first finding with a stack.
# Open MPI's plug-ins stay loaded (tests/sanitizers/no_dlclose.c), so that LSan can name the
# module of what they keep, with its fast unwinder; verify_asan_link_order=0 lets GCC's shared
# ASan runtime come after that preload.
shim="$build_dir/libsvr_no_dlclose.so"
cc -shared -fPIC -O2 -o "$shim" "$root/tests/sanitizers/no_dlclose.c"
export LD_PRELOAD="$shim${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:malloc_context_size=30:verify_asan_link_order=0"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The sanitizers make everything slower: the tests' time limits scale (tests/e2e/test_timing.py).
export SVR_TEST_TIME_SCALE="${SVR_TEST_TIME_SCALE:-4}"

cd "$build_dir"
# Unit tests, then every MPI test at 1 or 2 ranks and every end-to-end test at 2 ranks (np3/np4/
# np6 only repeat them with more ranks, at the sanitizers' cost; an end-to-end case at 1 rank that
# has a 2-rank twin runs the code the twin runs on each rank, less the communication).
#
# The bad-input cases run without mpiexec (np0): the same error paths in half the time, where a
# 2-rank case holds both cores. A few run at 2 ranks instead, one for each place where an error
# is agreed across ranks: the reader, a weight check on the layer's owner and on a ScaLAPACK
# team, the batch-norm folding, the output directory, the options, a topology and the truncated
# SVD's rank check.
#
# Left to the plain build, to keep CI within its time:
# - the graph cases' ScaLAPACK, one-grid, split and significant-only variants (the graph code
#   runs in graph.MODEL.np1/np2, the grid code in the e2e.scalapack and oracle cases);
# - the oracle cases in single precision (the double ones take the same paths) and those of the
#   corrections other than BH (the corrections run here in the unit tests);
# - what is mostly Python or a browser (render, the topology recogniser), the --plan printouts
#   (e2e.plan), or a file-system race (e2e.concurrent);
# - the injected faults (e2e.fault: they time how fast every rank stops and run one at a time;
#   the agreed error paths are the bad-input cases', which run here);
# - the ONNX cases (their reader runs here in the unit tests, Onnx.*, and under libFuzzer);
# - the transformer layouts' --residual-reach variants and plans (e2e.transformer.FAMILY.np0 and
#   the bad-input cases run here);
# - the checks of the installed tree (e2e.install*: the build's own svr runs here), of
#   --skip-complete and of byte-equal outputs across rank counts (the same code runs here in the
#   reduction cases);
# - the graph examples' format twins (the readers run here in e2e.formats);
# - the packaging checks (cpack and dpkg-deb on the installed tree, a second build against BLIS).
ctest --output-on-failure -j"$(nproc)" -L unit "$@"
# The end-to-end cases at 1 rank that have a 2-rank twin, and the bad-input cases at 2 ranks that
# have a twin without mpiexec (less the few above), as one alternation of exact names.
names="$(ctest -N | awk '$3 ~ /^e2e\./ {print $3}')"
bad_at_two_ranks='header_absurd|offsets_out_of_file|nan_weight|scalapack_nan_weight|bn_nan_var'
bad_at_two_ranks+='|unwritable_outdir|existing_outdir|bad_option|topology_channel_mismatch'
bad_at_two_ranks+='|min_rank_above_every_rank|beyond_float'
# Names on stdin, one per line, as exact-name alternatives: ^name$| for each.
exact() { while read -r t; do printf '%s|' "^${t//./\\.}\$"; done; }
skipped="$(grep -E '\.np1$' <<<"$names" | while read -r t; do
  if grep -qxF "${t%.np1}.np2" <<<"$names"; then echo "$t"; fi
done | exact)"
skipped+="$(grep -E '^e2e\.bad\..*\.np2$' <<<"$names" |
  grep -vE "^e2e\.bad\.($bad_at_two_ranks)\.np2\$" | while read -r t; do
  if grep -qxF "${t%.np2}.np0" <<<"$names"; then echo "$t"; fi
done | exact)"
skipped+="$(grep -E "^e2e\.bad\.($bad_at_two_ranks)\.np0\$" <<<"$names" | exact)"
ctest --output-on-failure -j"$(nproc)" -LE unit \
  -E "${skipped}"'np[3-9]|torchvision_random|slurm|topology\.export|graph\.(scalapack|one_grid|split|significant_only)\.|e2e\.oracle\..*single|e2e\.oracle\.digits_plain_(by|holm|bonferroni|none)(_significant_only)?$|e2e\.plan\.|render\.|topology\.recogniser|e2e\.concurrent|packaging\.|e2e\.fault\.|e2e\.onnx\.|e2e\.bad\.onnx_|e2e\.transformer\..*(reach|plan_)|e2e\.install|e2e\.skip_complete|all_edges_same_bytes|graph\.example\..*\.formats' "$@"
