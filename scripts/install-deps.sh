#!/usr/bin/env bash
# Installs everything svr needs to build and test, from Debian bookworm packages. Idempotent.
# Usage: scripts/install-deps.sh [--tests] [--second-blas] [--fuzz] [--with-torch]
#   (no option)   what building and running svr needs (SLEPc included: the plug-in that computes
#                 the top K of --max-rank; CMake builds svr without it when it is missing)
#   --tests       also what the test suite needs: NumPy/SciPy/mpmath for the oracle, networkx,
#                 Chromium for the rendering test, Slurm (slurmctld, slurmd, client commands,
#                 srun's PMIx plugin) and munge for the Slurm test, which starts its own
#                 daemons (scripts/slurm-local-cluster.sh): they are not started as services;
#                 Lmod, which loads the installed module file in e2e.install_module; dpkg-dev,
#                 whose dpkg-shlibdeps gives the Debian package its Depends (packaging.deb)
#   --second-blas BLIS (serial), for packaging.second_blas: svr built against a second BLAS
#   --fuzz        also clang with libFuzzer and its sanitizer runtimes, for scripts/fuzz.sh
#   --with-torch  also PyTorch, torchvision and scikit-learn, for scripts/*.py (example training)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  openmpi-bin libopenmpi-dev
  libscalapack-openmpi-dev libopenblas-dev liblapacke-dev
  libeigen3-dev libboost-program-options-dev libboost-math-dev
  libgtest-dev nlohmann-json3-dev libonnx-dev libprotobuf-dev
  libslepc-real-dev
)
for option in "$@"; do
  case "$option" in
    --tests) packages+=(python3 python3-numpy python3-scipy python3-mpmath python3-networkx python3-jsonschema python3-onnx chromium
                        slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge libpmix2 lmod dpkg-dev) ;;
    --second-blas) packages+=(libblis-serial-dev liblapack3) ;;
    --fuzz) packages+=(python3 clang libclang-rt-14-dev libfuzzer-14-dev) ;;
    --with-torch) packages+=(python3 python3-numpy python3-torch python3-torchvision python3-sklearn) ;;
    *) echo "install-deps: unknown option $option (see the comment at the top)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if (( EUID != 0 )); then sudo_cmd=(sudo); fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
# The Slurm and munge packages start their services when installed; without
# /etc/slurm/slurm.conf slurmctld and slurmd cannot start, and a failed start fails the install.
# The tests run their own daemons: tell invoke-rc.d not to start services during this install
# (as Docker images do), unless a policy is already in place.
policy=/usr/sbin/policy-rc.d
if [[ " ${missing[*]} " =~ \ (slurmctld|slurmd|munge)\  && ! -e $policy ]]; then
  printf '#!/bin/sh\n# scripts/install-deps.sh: no service starts while it installs\nexit 101\n' |
    "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod 755 "$policy"
  trap '"${sudo_cmd[@]}" rm -f "$policy"' EXIT
fi
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
