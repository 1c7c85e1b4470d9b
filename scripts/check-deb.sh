#!/usr/bin/env bash
# Builds the Debian package of BUILD_DIR (cmake/Packaging.cmake), installs it on this machine
# with dpkg and apt (apt-get -f install brings whatever runtime library is missing), and runs the
# installed svr: --version, and the example model at 2 ranks, whose outputs must equal those of
# BUILD_DIR/svr. The package is removed again at the end. Needs root; CI runs it (.ci/run).
# Usage: scripts/check-deb.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$(cd "${1:-$root/build}" && pwd)"
say() { echo "check-deb: $*"; }

if (( EUID != 0 )); then
  say "needs root (dpkg -i, apt-get)"; exit 1
fi
if dpkg-query -W -f='${Status}' svr 2>/dev/null | grep -q installed; then
  say "a package svr is installed already; remove it first (dpkg -r svr)"; exit 1
fi
work="$(mktemp -d /tmp/svr-check-deb.XXXXXX)"
cleanup() {
  dpkg -r svr >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$work/packages" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log"; say "cpack failed"; exit 1
fi
deb="$(ls "$work"/packages/svr_*.deb)"
say "built $(basename "$deb")"
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends

# dpkg -i leaves the package unconfigured when a dependency is missing; apt-get -f install then
# installs what it depends on (on a clean machine) or nothing (where svr was built).
dpkg -i "$deb" || say "dpkg -i left dependencies to apt"
DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q
dpkg-query -W -f='${Status}\n' svr | grep -qx "install ok installed"
[[ "$(command -v svr)" == /usr/bin/svr ]] || { say "svr is not /usr/bin/svr on PATH"; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # root: CI machines only
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
svr --version
# Minimal images tell dpkg to leave out man pages (path-exclude in /etc/dpkg/dpkg.cfg.d).
if grep -qsE '^path-exclude[= ]+/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
  say "dpkg is told to leave out man pages here: svr.1 not checked"
else
  [[ -f /usr/share/man/man1/svr.1 ]] || { say "no man page"; exit 1; }
fi
[[ -x /usr/bin/svr-sweep-submit && -f /usr/share/svr/slurm/svr.sbatch ]] ||
  { say "the Slurm scripts are missing"; exit 1; }
grep -q '"/usr"' /usr/share/svr/modulefiles/svr/*.lua ||
  { say "the module file does not name the prefix /usr"; exit 1; }

# The example, from a directory outside the sources, against the build tree's svr.
cp "$root/examples/digits_cnn_bn.safetensors" "$work/"
cd "$work"
mpiexec -n 2 --oversubscribe svr digits_cnn_bn.safetensors -o installed --all-edges --quiet
mpiexec -n 2 --oversubscribe "$build_dir/svr" digits_cnn_bn.safetensors -o built --all-edges --quiet
# Debian's interpreter, which has NumPy (scripts/install-deps.sh --tests).
python=/usr/bin/python3; [[ -x $python ]] || python=python3
"$python" "$root/tests/e2e/compare_outputs.py" built installed --all-edges-in-both | tail -1

dpkg -r svr >/dev/null
[[ ! -e /usr/bin/svr ]] || { say "dpkg -r left /usr/bin/svr"; exit 1; }
say "the package installs with apt, runs the example as the build does, and removes cleanly"
