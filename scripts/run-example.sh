#!/usr/bin/env bash
# Installs the dependencies, builds svr and runs it with 2 MPI ranks on the example CNN shipped in
# examples/. Usage: scripts/run-example.sh [OUTDIR]   (default: out/digits_cnn_bn)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
outdir="${1:-$root/out/digits_cnn_bn}"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"

if (( EUID == 0 )); then
  # Open MPI refuses to start as root unless told; only relevant on containers and CI machines.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1  # one BLAS thread per rank
mkdir -p "$(dirname "$outdir")"
mpiexec -n 2 --oversubscribe "$root/build/svr" "$root/examples/digits_cnn_bn.safetensors" \
  -o "$outdir" --force

echo
echo "svr outputs are in $outdir:"
ls -l "$outdir"
